package io.krill.runtime;

/**
 * Where the core reports lifecycle events. Implementations must keep the order of calls (the
 * core calls this in lifecycle order per task) and must not block for long.
 */
@FunctionalInterface
public interface EventSink {
  void publish(TaskEvent event);
}
