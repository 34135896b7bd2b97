package io.krill.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * Lifecycle events, published in order per process: created (or exec added), started, exited,
 * deleted. {@code processId} is the container id for a container's own process and the exec id for
 * an exec, as containerd's TaskExit/TaskDelete carry it.
 */
public sealed interface TaskEvent {
  String containerId();

  record Created(
      String containerId,
      Path bundle,
      List<TaskSpec.RootfsMount> rootfs,
      String stdin,
      String stdout,
      String stderr,
      boolean terminal,
      int pid)
      implements TaskEvent {}

  record Started(String containerId, int pid) implements TaskEvent {}

  record ExecAdded(String containerId, String execId) implements TaskEvent {}

  record ExecStarted(String containerId, String execId, int pid) implements TaskEvent {}

  record Exited(String containerId, String processId, int pid, ExitStatus status)
      implements TaskEvent {
    public boolean isExec() {
      return !containerId.equals(processId);
    }
  }

  record Deleted(String containerId, String processId, int pid, ExitStatus status)
      implements TaskEvent {
    public boolean isExec() {
      return !containerId.equals(processId);
    }
  }

  record OutOfMemory(String containerId) implements TaskEvent {}
}
