package io.krill.runtime;

/**
 * A subscriber to the core's events ({@link TaskManager#subscribe}). Called on the core's one event
 * thread, in lifecycle order, never under a lock of the core: it may call back into {@link
 * TaskManager}. A slow subscriber delays the ones after it.
 */
@FunctionalInterface
public interface EventSink {
  void publish(TaskEvent event);
}
