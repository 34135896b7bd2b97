package io.krill.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The engines a daemon offers, by name, and the one a container gets: the one its OCI annotation
 * {@value #ANNOTATION} names, else the daemon's default. An engine is built the first time a
 * container needs it. The composition roots name the engines; the core only selects among them.
 */
public final class Engines implements AutoCloseable {
  /** The OCI annotation (config.json's {@code annotations}) that picks a container's engine. */
  public static final String ANNOTATION = "krill.io/engine";

  private final String defaultName;
  private final Map<String, Supplier<WasmEngine>> factories;
  private final Map<String, WasmEngine> built = new LinkedHashMap<>();
  private boolean closed;

  /**
   * @param defaultName the engine of containers without the annotation; one of {@code factories}
   * @param factories how to build each engine, by the name the annotation uses
   */
  public Engines(String defaultName, Map<String, Supplier<WasmEngine>> factories) {
    if (!factories.containsKey(defaultName)) {
      throw new IllegalArgumentException(
          "engine " + defaultName + " is not one of " + factories.keySet());
    }
    this.defaultName = defaultName;
    this.factories = new LinkedHashMap<>(factories);
  }

  /** One engine for every container (tests, embedders). */
  public static Engines only(WasmEngine engine) {
    Engines e = new Engines(engine.name(), Map.of(engine.name(), () -> engine));
    e.built.put(engine.name(), engine);
    return e;
  }

  public String defaultName() {
    return defaultName;
  }

  /** The names the annotation accepts, in the order given. */
  public List<String> names() {
    return List.copyOf(factories.keySet());
  }

  /** The daemon's default engine, built if it was not yet. */
  public WasmEngine defaultEngine() {
    return engine(defaultName);
  }

  /**
   * The engine for a container with these annotations.
   *
   * @throws EngineException ({@link EngineException.Kind#INVALID_MODULE}: the user's to fix) when
   *     the annotation names no engine of this daemon
   */
  public WasmEngine select(String containerId, Map<String, String> annotations) {
    return select(containerId, annotations, null);
  }

  /**
   * As {@link #select(String, Map)}, with {@code preferred} (when this daemon has it) in place of
   * the daemon's default for a container whose annotation names no engine.
   */
  public WasmEngine select(String containerId, Map<String, String> annotations, String preferred) {
    String name = annotations.get(ANNOTATION);
    if (name == null || name.isBlank()) {
      return preferred != null && factories.containsKey(preferred)
          ? engine(preferred)
          : defaultEngine();
    }
    if (!factories.containsKey(name.strip())) {
      throw new EngineException(
          EngineException.Kind.INVALID_MODULE,
          "container "
              + containerId
              + ": annotation "
              + ANNOTATION
              + "="
              + name
              + " names no engine of this krill; use one of "
              + String.join(", ", factories.keySet())
              + " (or leave it out for the daemon's default, "
              + defaultName
              + ")");
    }
    return engine(name.strip());
  }

  private synchronized WasmEngine engine(String name) {
    if (closed) {
      throw new IllegalStateException("the engines are closed");
    }
    return built.computeIfAbsent(name, n -> factories.get(n).get());
  }

  /** Closes the engines built so far. */
  @Override
  public synchronized void close() {
    closed = true;
    for (WasmEngine e : built.values()) {
      e.close();
    }
    built.clear();
  }
}
