package io.krill.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The engines a daemon offers, by name, and the one a container gets: the one its OCI annotation
 * {@value #ANNOTATION} names, else the daemon's default. An engine is built the first time a
 * container needs it. The composition roots name the engines; the core only selects among them.
 */
public final class Engines implements AutoCloseable {
  /** The OCI annotation (config.json's {@code annotations}) that picks a container's engine. */
  public static final String ANNOTATION = "krill.io/engine";

  private static final System.Logger LOG = System.getLogger("krill.engines");

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
      if (preferred == null || !factories.containsKey(preferred)) {
        return defaultEngine();
      }
      return preferred.equals(defaultName)
          ? defaultEngine()
          : new Preferred(containerId, engine(preferred), this::defaultEngine);
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

  /**
   * An engine krill picked for a container that named none, in place of the daemon's default: a
   * module it refuses for want of resources ({@link EngineException.Kind#RESOURCE_EXHAUSTED}, such
   * as one too big for Chicory's share of the heap) runs on the daemon's default engine instead,
   * since the container never asked for this one. Made for one container; its name is that of the
   * engine that took the container's last module.
   */
  private static final class Preferred implements WasmEngine {
    private final String containerId;
    private final WasmEngine preferred;
    private final Supplier<WasmEngine> fallback;
    private volatile WasmEngine used;

    Preferred(String containerId, WasmEngine preferred, Supplier<WasmEngine> fallback) {
      this.containerId = containerId;
      this.preferred = preferred;
      this.fallback = fallback;
    }

    @Override
    public String name() {
      WasmEngine u = used;
      return (u == null ? preferred : u).name();
    }

    @Override
    public Guest prepare(GuestSpec spec) {
      return onEither(e -> e.prepare(spec));
    }

    @Override
    public Program compile(GuestSpec spec, long maxRunMillis) {
      return onEither(e -> e.compile(spec, maxRunMillis));
    }

    /** {@code work} on the preferred engine, or on the fallback if it refuses for want of room. */
    private <T> T onEither(Function<WasmEngine, T> work) {
      WasmEngine engine = preferred;
      T result;
      try {
        result = work.apply(engine);
      } catch (EngineException e) {
        if (e.kind() != EngineException.Kind.RESOURCE_EXHAUSTED) {
          throw e;
        }
        engine = fallback.get();
        LOG.log(
            System.Logger.Level.INFO,
            "container {0}: engine {1} refused its module ({2}); running it on {3}, the default"
                + " engine of this daemon",
            containerId,
            preferred.name(),
            e.getMessage(),
            engine.name());
        result = work.apply(engine);
      }
      used = engine;
      return result;
    }

    /** The engines belong to {@link Engines}, which closes them. */
    @Override
    public void close() {}
  }
}
