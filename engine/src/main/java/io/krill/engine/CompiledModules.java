package io.krill.engine;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * An engine's compiled modules in memory, shared by every task of the daemon: keyed by the module's
 * content digest and the engine settings that decide its code, bounded by a count and a size (the
 * least recently used go first), and compiled once however many tasks ask for one module at the
 * same time (the others wait for that compile and share its result).
 *
 * <p>A task holds its module through a {@link Lease}. Evicting an entry only forgets it: a module
 * in use stays alive, and is released once the last task using it closes its lease, so eviction
 * never pulls code from under a running guest.
 *
 * @param <V> what an engine keeps of a compiled module
 */
public final class CompiledModules<V> {
  /** The bounds of the cache: at most {@code entries} modules and {@code bytes} in all. */
  public record Limits(int entries, long bytes) {
    /** 32 modules, 64 MiB: the defaults of the daemons' settings. */
    public static final Limits DEFAULT = new Limits(32, 64L << 20);

    /** No module kept beyond its own tasks. */
    public static final Limits NONE = new Limits(0, 0);

    public Limits {
      if (entries < 0 || bytes < 0) {
        throw new IllegalArgumentException(
            "compiled module cache limits must not be negative: " + entries + " modules, " + bytes);
      }
    }
  }

  /** A compiled module's identity: its bytes' SHA-256 and the engine with its settings. */
  public record Key(String moduleDigest, String engineSettings) {
    public static Key of(byte[] module, String engineSettings) {
      return new Key(sha256(module), engineSettings);
    }
  }

  /**
   * What a compile produced and what it counts against the size bound; a {@code null} value is
   * handed to its caller but not kept.
   */
  public record Compiled<V>(V value, long bytes) {}

  /** Compiles a module (or loads it from a cache on disk); may throw. */
  @FunctionalInterface
  public interface Compiler<V> {
    Compiled<V> compile();
  }

  /** Counters since the cache was made. */
  public record Stats(long hits, long misses, long evictions, int entries, long bytes) {}

  private final Limits limits;
  private final Consumer<V> release;
  private final LinkedHashMap<Key, Entry<V>> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<Key, CompletableFuture<Void>> compiling = new HashMap<>();
  private long bytes;
  private long hits;
  private long misses;
  private long evictions;

  /**
   * @param limits the bounds
   * @param release frees a module nobody uses any more that the cache no longer holds (native code,
   *     say); called once per compiled module, never under the cache's lock
   */
  public CompiledModules(Limits limits, Consumer<V> release) {
    this.limits = limits;
    this.release = release;
  }

  /**
   * The compiled module of {@code key}: the one in memory, or the one another task is compiling now
   * (waited for), or {@code compiler}'s. A compile that fails is not remembered: its error goes to
   * its caller, and each waiting task compiles for itself (so each error names its own task).
   */
  public Lease<V> get(Key key, Compiler<V> compiler) {
    while (true) {
      CompletableFuture<Void> other;
      CompletableFuture<Void> mine = null;
      synchronized (this) {
        Entry<V> e = entries.get(key);
        if (e != null) {
          hits++;
          e.users++;
          return new Lease<>(this, e);
        }
        other = compiling.get(key);
        if (other == null) {
          misses++;
          mine = new CompletableFuture<>();
          compiling.put(key, mine);
        }
      }
      if (mine == null) {
        other.join();
        continue;
      }
      Compiled<V> c;
      try {
        c = compiler.compile();
      } catch (RuntimeException | Error t) {
        synchronized (this) {
          compiling.remove(key);
        }
        mine.complete(null);
        throw t;
      }
      Entry<V> e = new Entry<>(key, c.value(), Math.max(0, c.bytes()));
      List<Entry<V>> released = new ArrayList<>();
      synchronized (this) {
        compiling.remove(key);
        e.users = 1;
        if (e.value != null && limits.entries() > 0 && e.bytes <= limits.bytes()) {
          e.cached = true;
          entries.put(key, e);
          bytes += e.bytes;
          evict(released);
        }
      }
      mine.complete(null);
      released.forEach(r -> release.accept(r.value));
      return new Lease<>(this, e);
    }
  }

  /** Forgets every module; those in use are released when their last task is done. */
  public void clear() {
    List<Entry<V>> released = new ArrayList<>();
    synchronized (this) {
      for (Entry<V> e : entries.values()) {
        e.cached = false;
        if (e.users == 0) {
          released.add(e);
        }
      }
      entries.clear();
      bytes = 0;
    }
    released.forEach(r -> release.accept(r.value));
  }

  public synchronized Stats stats() {
    return new Stats(hits, misses, evictions, entries.size(), bytes);
  }

  /** The keys in memory, least recently used first. */
  public synchronized List<Key> keys() {
    return List.copyOf(entries.keySet());
  }

  private void evict(List<Entry<V>> released) {
    Iterator<Entry<V>> it = entries.values().iterator();
    while ((entries.size() > limits.entries() || bytes > limits.bytes()) && it.hasNext()) {
      Entry<V> e = it.next();
      it.remove();
      e.cached = false;
      bytes -= e.bytes;
      evictions++;
      if (e.users == 0) {
        released.add(e);
      }
    }
  }

  private void done(Entry<V> e) {
    boolean free;
    synchronized (this) {
      e.users--;
      free = e.users == 0 && !e.cached;
    }
    if (free) {
      release.accept(e.value);
    }
  }

  private static final class Entry<V> {
    final Key key;
    final V value;
    final long bytes;
    int users;
    boolean cached;

    Entry(Key key, V value, long bytes) {
      this.key = key;
      this.value = value;
      this.bytes = bytes;
    }
  }

  /** One task's hold on a compiled module; close it when the task no longer runs its code. */
  public static final class Lease<V> implements AutoCloseable {
    private final CompiledModules<V> owner;
    private final Entry<V> entry;
    private boolean closed;

    private Lease(CompiledModules<V> owner, Entry<V> entry) {
      this.owner = owner;
      this.entry = entry;
    }

    public V value() {
      return entry.value;
    }

    /** Idempotent. */
    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      owner.done(entry);
    }
  }

  /** Hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
