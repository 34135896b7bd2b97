package io.krill.engine;

/**
 * The engine SPI. {@link #prepare} compiles and validates (errors are {@link EngineException}s with
 * a message for the user); running happens later on the task's thread.
 */
public interface WasmEngine extends AutoCloseable {
  String name();

  Guest prepare(GuestSpec spec);

  @Override
  default void close() {}
}
