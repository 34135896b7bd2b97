package io.krill.runtime;

import java.nio.file.Path;
import java.util.List;

/** Lifecycle events, published in order per task: created, started, exited, deleted. */
public sealed interface TaskEvent {
  String containerId();

  record Created(String containerId, Path bundle, List<TaskSpec.RootfsMount> rootfs, String stdin,
      String stdout, String stderr, boolean terminal, int pid) implements TaskEvent {}

  record Started(String containerId, int pid) implements TaskEvent {}

  record Exited(String containerId, int pid, ExitStatus status) implements TaskEvent {}

  record Deleted(String containerId, int pid, ExitStatus status) implements TaskEvent {}

  record OutOfMemory(String containerId) implements TaskEvent {}
}
