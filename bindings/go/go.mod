module github.com/vmshare/vmshare/bindings/go

go 1.19
