package io.krill.engine;

/**
 * The engine SPI. {@link #prepare} compiles and validates (errors are {@link EngineException}s with
 * a message for the user); running happens later on the task's thread.
 */
public interface WasmEngine extends AutoCloseable {
  String name();

  Guest prepare(GuestSpec spec);

  /**
   * Compiles the spec's module once for many fresh guests ({@link Program}); a guest that runs
   * longer than {@code maxRunMillis} may be stopped by the engine itself (it is interrupted by its
   * caller then anyway). Errors as for {@link #prepare}.
   */
  default Program compile(GuestSpec spec, long maxRunMillis) {
    throw new EngineException(
        EngineException.Kind.INVALID_MODULE,
        "container "
            + spec.containerId()
            + ": engine "
            + name()
            + " cannot run an instance per request; pick another engine with krill.io/engine");
  }

  @Override
  default void close() {}
}
