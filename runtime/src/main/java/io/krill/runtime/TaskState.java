package io.krill.runtime;

import java.util.EnumSet;
import java.util.Set;

/**
 * Lifecycle of a task.
 *
 * <pre>
 *   CREATED ──start──► RUNNING ──guest exits / kill──► STOPPED ──delete──► DELETED
 *      │                                                  ▲
 *      ├──────────────kill (never started)───────────────┘
 *      └──────────────delete (never started)──────────────────────────────► DELETED
 * </pre>
 *
 * An invalid transition is a FAILED_PRECONDITION error for the caller, never a crash.
 */
public enum TaskState {
  CREATED,
  RUNNING,
  STOPPED,
  DELETED;

  private Set<TaskState> next() {
    return switch (this) {
      case CREATED -> EnumSet.of(RUNNING, STOPPED, DELETED);
      case RUNNING -> EnumSet.of(STOPPED);
      case STOPPED -> EnumSet.of(DELETED);
      case DELETED -> EnumSet.noneOf(TaskState.class);
    };
  }

  public boolean canMoveTo(TaskState target) {
    return next().contains(target);
  }

  /**
   * Returns {@code target} or throws FAILED_PRECONDITION naming the container and the attempted
   * step.
   */
  public TaskState moveTo(TaskState target, String containerId) {
    if (!canMoveTo(target)) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + containerId
              + " is "
              + name().toLowerCase()
              + ", cannot become "
              + target.name().toLowerCase());
    }
    return target;
  }
}
