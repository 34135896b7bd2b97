package io.krill.it.harness;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One private {@link Containerd} (or {@link CriContainerd}) per version for all the test methods of
 * a class, started when a test first asks for that version and closed (with all of its {@code
 * close()} checks) after the class. Tests keep apart by unique container ids ({@link
 * KrillTasks#id}) and end with the instance's {@code assertNoLeaks()}, so each leaves it as it
 * found it; a test that fails takes the instances it used with it, and the next test gets fresh
 * ones.
 *
 * <pre>
 * &#64;RegisterExtension static final ContainerdPerClass&lt;Containerd&gt; containerds = ContainerdPerClass.withKrill();
 *
 * &#64;ParameterizedTest &#64;EnumSource(ContainerdVersion.class)
 * void hello(ContainerdVersion v) {
 *     Containerd c = containerds.get(v);
 *     ...
 *     c.assertNoLeaks();
 * }
 * </pre>
 */
public final class ContainerdPerClass<T extends AutoCloseable>
    implements BeforeEachCallback, AfterEachCallback, AfterAllCallback {
  private final Function<ContainerdVersion, T> starter;
  private final Map<ContainerdVersion, T> running = new EnumMap<>(ContainerdVersion.class);
  private final Set<ContainerdVersion> usedByThisTest = EnumSet.noneOf(ContainerdVersion.class);

  private ContainerdPerClass(Function<ContainerdVersion, T> starter) {
    this.starter = starter;
  }

  /** Instances that run krill tasks ({@link Containerd#start}). */
  public static ContainerdPerClass<Containerd> withKrill() {
    return new ContainerdPerClass<>(Containerd::start);
  }

  /** As {@link #withKrill()}, each containerd (and so each krill daemon) with {@code env} added. */
  public static ContainerdPerClass<Containerd> withKrill(Map<String, String> env) {
    return new ContainerdPerClass<>(v -> Containerd.start(v, env));
  }

  /**
   * Instances that run krill tasks with a compiled-module cache of their own and {@code krillEnv}
   * in the daemons' environment ({@link Containerd#startWithPrivateCache}).
   */
  public static ContainerdPerClass<Containerd> withKrillPrivateCache(Map<String, String> krillEnv) {
    return new ContainerdPerClass<>(v -> Containerd.startWithPrivateCache(v, krillEnv));
  }

  /**
   * Instances with containerd's CRI plugin, a CNI network and a registry ({@link
   * CriContainerd#start}).
   */
  public static ContainerdPerClass<CriContainerd> withCri() {
    return new ContainerdPerClass<>(CriContainerd::start);
  }

  /**
   * As {@link #withCri()}, with the {@code portmap} plugin in each instance's CNI network ({@link
   * CriContainerd#startWithPortmap}).
   */
  public static ContainerdPerClass<CriContainerd> withCriPortmap() {
    return new ContainerdPerClass<>(CriContainerd::startWithPortmap);
  }

  /**
   * As {@link #withCri()}, with krill as containerd's default runtime ({@link
   * CriContainerd#startWithKrillAsDefault}).
   */
  public static ContainerdPerClass<CriContainerd> withCriKrillAsDefault() {
    return new ContainerdPerClass<>(CriContainerd::startWithKrillAsDefault);
  }

  /** The running instance of {@code version}, started on first use. */
  public synchronized T get(ContainerdVersion version) {
    usedByThisTest.add(version);
    return running.computeIfAbsent(version, starter);
  }

  @Override
  public synchronized void beforeEach(ExtensionContext context) {
    usedByThisTest.clear();
  }

  /**
   * A failed test may have left tasks, mounts or daemons behind: its instances are closed, not
   * reused.
   */
  @Override
  public synchronized void afterEach(ExtensionContext context) {
    if (context.getExecutionException().isPresent()) {
      closeAll(List.copyOf(usedByThisTest));
    }
    usedByThisTest.clear();
  }

  @Override
  public synchronized void afterAll(ExtensionContext context) {
    closeAll(List.copyOf(running.keySet()));
  }

  /**
   * Closes each instance even if closing another failed; rethrows the first failure with the rest
   * suppressed.
   */
  private void closeAll(List<ContainerdVersion> versions) {
    List<Throwable> failures = new ArrayList<>();
    for (ContainerdVersion v : versions) {
      T c = running.remove(v);
      if (c == null) {
        continue;
      }
      try {
        c.close();
      } catch (RuntimeException | Error e) {
        failures.add(e);
      } catch (Exception e) {
        failures.add(new IllegalStateException("closing " + v + " failed", e));
      }
    }
    if (!failures.isEmpty()) {
      Throwable first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      if (first instanceof Error e) {
        throw e;
      }
      throw (RuntimeException) first;
    }
  }
}
