// The Task service on the wire: registers containerd.task.v2.Task's methods
// on a ttrpc server, decoding each request (task_wire.h), calling the
// TaskService and encoding its reply. Errors go out as grpc status codes
// that containerd's errdefs map back (NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, UNIMPLEMENTED, ...). Pause, Resume, Checkpoint,
// Update and Stats answer UNIMPLEMENTED naming the method.
#pragma once

#include <functional>

#include "agent/ttrpc_server.h"
#include "shim/task_service.h"

namespace vmshare::shim {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

// `on_exit` runs after the reply to a Shutdown that ends the shim has been
// written. REQUIRES: svc outlives the server.
void RegisterTaskService(agent::TtrpcServer* server, TaskService* svc,
                         std::function<void()> on_exit);

}  // namespace vmshare::shim
