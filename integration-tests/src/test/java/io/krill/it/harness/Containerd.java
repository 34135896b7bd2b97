package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private containerd (own config, root, state and socket in a fresh temp dir) so tests never
 * touch a system containerd and several versions can run side by side. krill's bin dir is put on
 * its PATH.
 */
public final class Containerd implements AutoCloseable {
  public static final Duration CTR_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DAEMON_EXIT_TIMEOUT = Duration.ofSeconds(15);
  private static final String TASK_PLUGIN_DIR = "io.containerd.runtime.v2.task";

  /** Where krill's launcher puts daemon sockets, following the runc shim's convention. */
  private static final Path SHIM_SOCKET_DIR = Path.of("/run/containerd/s");

  private final ContainerdVersion version;
  private final Path dir;
  private final Path socket;
  private final Path state;
  private final Path config;
  private final Path log;
  private final Path runDir;
  private final Path extraBin;

  /** CRI plugin config (TOML tables) or null, which disables CRI. */
  private final String criConfig;

  /** The krill daemons' compiled-module cache when private to this instance, else null. */
  private final Path krillCacheDir;

  /** Extra environment for containerd, and so for its shims and krill daemons. */
  private final Map<String, String> env;

  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();

  /**
   * Namespaces that had no cgroup directory of their name ({@link #cgroupDirs}) when this harness
   * first used them, on a containerd with krill: {@link #assertNoLeaks} checks that they have none
   * at the end.
   */
  private final Set<String> cgroupFree = ConcurrentHashMap.newKeySet();

  private final Set<String> cgroupSeen = ConcurrentHashMap.newKeySet();
  private final List<CtrProcess> background = new ArrayList<>();
  private Process process;

  /** A containerd that can run krill tasks; fails when the distribution is not built. */
  public static Containerd start(ContainerdVersion version) {
    return new Containerd(version, Dist.binDir(), null, false, Map.of());
  }

  /**
   * A containerd that can run krill tasks, with {@code env} added to its environment: the krill
   * daemons it starts read their settings ({@code KRILL_*}) from there.
   */
  public static Containerd start(ContainerdVersion version, Map<String, String> env) {
    return new Containerd(version, Dist.binDir(), null, false, env);
  }

  /**
   * A containerd that can run krill tasks, whose krill daemons keep their compiled modules in a
   * cache of their own, {@link #krillCacheDir}, and see {@code env} besides.
   */
  public static Containerd startWithPrivateCache(
      ContainerdVersion version, Map<String, String> env) {
    return new Containerd(version, Dist.binDir(), null, true, env);
  }

  /**
   * A containerd that serves CRI too, configured by {@code criConfig} (see {@link CriContainerd}).
   */
  public static Containerd startWithCri(ContainerdVersion version, String criConfig) {
    return startWithCri(version, criConfig, Map.of());
  }

  /**
   * As {@link #startWithCri(ContainerdVersion, String)}, with {@code env} for the krill daemons.
   */
  public static Containerd startWithCri(
      ContainerdVersion version, String criConfig, Map<String, String> env) {
    return new Containerd(version, Dist.binDir(), criConfig, false, env);
  }

  /** A containerd for checks that need no krill (the harness itself, runc comparisons). */
  public static Containerd startWithoutKrill(ContainerdVersion version) {
    return new Containerd(version, null, null, false, Map.of());
  }

  private Containerd(
      ContainerdVersion version,
      Path extraBin,
      String criConfig,
      boolean privateCache,
      Map<String, String> env) {
    this.version = version;
    this.extraBin = extraBin;
    this.criConfig = criConfig;
    this.env = Map.copyOf(env);
    try {
      // Under /tmp, not java.io.tmpdir: the socket path must stay well below the 108-byte sun_path
      // limit.
      dir = Files.createTempDirectory(Path.of("/tmp"), "krill-it-").toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    socket = dir.resolve("containerd.sock");
    state = dir.resolve("state");
    config = dir.resolve("config.toml");
    log = dir.resolve("containerd.log");
    runDir = dir.resolve("krill-run");
    krillCacheDir = privateCache ? dir.resolve("krill-cache") : null;
    try {
      Files.createDirectories(dir.resolve("work"));
      Files.writeString(config, configToml());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    launch();
  }

  private String configToml() {
    StringBuilder b = new StringBuilder();
    b.append("version = ").append(version.isV2() ? 3 : 2).append('\n');
    b.append("root = ").append(q(dir.resolve("root"))).append('\n');
    b.append("state = ").append(q(state)).append('\n');
    if (version != ContainerdVersion.V1_6) {
      b.append("temp = ").append(q(dir.resolve("tmp"))).append('\n');
    }
    // CRI would want CNI, a sandbox image and global paths; NRI listens on a global socket.
    List<String> disabled =
        criConfig != null
            ? List.of("io.containerd.nri.v1.nri")
            : version.isV2()
                ? List.of(
                    "io.containerd.grpc.v1.cri",
                    "io.containerd.cri.v1.images",
                    "io.containerd.cri.v1.runtime",
                    "io.containerd.podsandbox.controller.v1.podsandbox",
                    "io.containerd.nri.v1.nri")
                : List.of("io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri");
    b.append("disabled_plugins = [");
    b.append(String.join(", ", disabled.stream().map(s -> "\"" + s + "\"").toList()));
    b.append("]\n\n[grpc]\n  address = ").append(q(socket)).append('\n');
    b.append("\n[debug]\n  level = \"")
        .append(System.getProperty("krill.it.containerdLogLevel", "info"))
        .append("\"\n");
    b.append("\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = ")
        .append(q(dir.resolve("opt")))
        .append('\n');
    if (criConfig != null) {
      b.append('\n').append(criConfig);
    }
    return b.toString();
  }

  private static String q(Path p) {
    return "\"" + p + "\"";
  }

  private void launch() {
    ProcessBuilder pb =
        new ProcessBuilder(version.containerd().toString(), "--config", config.toString());
    String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    if (extraBin != null) {
      pb.environment().put("PATH", extraBin + ":" + path);
    }
    pb.environment().put("KRILL_RUN_DIR", runDir.toString());
    // Lets a daemon that hosts nothing exit quickly, so leak checks need not wait long.
    pb.environment().put("KRILL_IDLE_TIMEOUT", "1");
    if (krillCacheDir != null) {
      pb.environment().put("KRILL_CACHE_DIR", krillCacheDir.toString());
    }
    pb.environment().putAll(env);
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + version, e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      if (!process.isAlive()) {
        fail(version + " exited with " + process.exitValue() + " during startup:\n" + logTail(40));
      }
      if (Files.exists(socket) && ctr(Duration.ofSeconds(10), "version").ok()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        fail(version + " did not answer ctr version within 30 s:\n" + logTail(40));
      }
      Host.sleep(100);
    }
  }

  public ContainerdVersion version() {
    return version;
  }

  public Path socket() {
    return socket;
  }

  /** The krill daemons' private compiled-module cache ({@link #startWithPrivateCache}). */
  public Path krillCacheDir() {
    if (krillCacheDir == null) {
      throw new IllegalStateException("this containerd's krill daemons use the node's cache");
    }
    return krillCacheDir;
  }

  public Path runDir() {
    return runDir;
  }

  public long pid() {
    return process.pid();
  }

  /**
   * A fresh directory inside this instance's temp dir, for --rootfs trees and bind-mount sources.
   */
  public Path newDir(String name) {
    try {
      return Files.createTempDirectory(dir.resolve("work"), name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private List<String> command(String... args) {
    List<String> cmd =
        new ArrayList<>(List.of(version.ctr().toString(), "--address", socket.toString()));
    cmd.addAll(List.of(args));
    String ns =
        args.length >= 2 && (args[0].equals("-n") || args[0].equals("--namespace"))
            ? args[1]
            : "default";
    namespaces.add(ns);
    // A namespace runc also used keeps its /<namespace> parents: see madeByAnotherRuntime.
    if (cgroupSeen.add(ns) && cgroupDirs(ns).isEmpty()) {
      cgroupFree.add(ns);
    }
    return cmd;
  }

  /**
   * Runs ctr against this containerd; fails the test if it takes longer than {@link #CTR_TIMEOUT}.
   */
  public Result ctr(String... args) {
    return ctr(CTR_TIMEOUT, args);
  }

  public Result ctr(Duration timeout, String... args) {
    try (CtrProcess p =
        new CtrProcess(command(args), ProcessBuilder.Redirect.from(new File("/dev/null")))) {
      return p.await(timeout);
    }
  }

  /** Runs ctr with {@code stdin} as its standard input. */
  public Result ctrWithStdin(byte[] stdin, String... args) {
    try (CtrProcess p = new CtrProcess(command(args), ProcessBuilder.Redirect.PIPE)) {
      try (var in = p.stdin()) {
        in.write(stdin);
      } catch (IOException e) {
        // ctr may exit before reading everything; its result tells the story
      }
      return p.await(CTR_TIMEOUT);
    }
  }

  /**
   * Runs ctr with a terminal of its own (under {@code script}), as a person at a shell would, so
   * that ctr accepts {@code -t}; its stdin is empty. What ctr wrote comes back as stdout, with the
   * terminal's line endings ({@code \r\n}).
   */
  public Result ctrInTerminal(String... args) {
    StringBuilder line = new StringBuilder();
    for (String a : command(args)) {
      line.append(line.length() == 0 ? "" : " ").append("'").append(a.replace("'", "'\\''"));
      line.append("'");
    }
    List<String> script = List.of("script", "-qec", line.toString(), "/dev/null");
    try (CtrProcess p =
        new CtrProcess(script, ProcessBuilder.Redirect.from(new File("/dev/null")))) {
      return p.await(CTR_TIMEOUT);
    }
  }

  /** Starts ctr in the background with a piped stdin that stays open until the test closes it. */
  public CtrProcess ctrBackground(String... args) {
    CtrProcess p = new CtrProcess(command(args), ProcessBuilder.Redirect.PIPE);
    synchronized (background) {
      background.add(p);
    }
    return p;
  }

  /** Runs ctr and fails the test, with containerd's log tail, unless it exits 0. */
  public Result ok(String... args) {
    Result r = ctr(args);
    if (!r.ok()) {
      fail("ctr failed against " + version + ": " + r + "\ncontainerd log tail:\n" + logTail(30));
    }
    return r;
  }

  public void importImage(String namespace, Path tarball) {
    ok("-n", namespace, "images", "import", tarball.toString());
  }

  /** Stops containerd (SIGTERM) and starts it again on the same config, root and state. */
  public void restart() {
    restart(Duration.ZERO);
  }

  /** {@link #restart()} with containerd away for {@code downtime} in between. */
  public void restart(Duration downtime) {
    stop();
    Host.sleep(downtime.toMillis());
    launch();
  }

  private void stop() {
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        fail(version + " ignored SIGTERM for 30 s:\n" + logTail(30));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no containerd log: " + e + ")";
    }
  }

  /** The last {@code lines} lines of the krill daemons' logs under this instance's run dir. */
  public String krillLogTail(int lines) {
    try {
      List<String> all = List.of(Host.daemonLogs(runDir).split("\n"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no krill daemon log: " + e + ")";
    }
  }

  /**
   * krill processes (daemons, or a launcher still running) spawned for this instance, by their
   * KRILL_RUN_DIR.
   */
  public List<Host.Proc> krillDaemons() {
    String rd = runDir.toString();
    return Host.all().stream()
        .filter(p -> p.pid() != ProcessHandle.current().pid())
        .filter(p -> p.isJava() || p.isProgram(Dist.SHIM_BINARY))
        .filter(p -> p.mentions(rd) || p.hasEnv("KRILL_RUN_DIR=" + rd))
        .toList();
  }

  private List<Host.Proc> awaitNoKrillDaemons() {
    long deadline = System.nanoTime() + DAEMON_EXIT_TIMEOUT.toNanos();
    List<Host.Proc> left = krillDaemons();
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      Host.sleep(100);
      left = krillDaemons();
    }
    return left;
  }

  /** The cgroup v1 hierarchies krill makes cgroups in, where mounted. */
  private static final List<Path> CGROUP_ROOTS =
      Stream.of("cpu", "cpuacct", "memory", "pids")
          .map(c -> Path.of("/sys/fs/cgroup", c))
          .filter(p -> Files.isRegularFile(p.resolve("tasks")))
          .toList();

  /**
   * The cgroup directories of namespace {@code ns} in the v1 hierarchies, children included:
   * containerd's {@code /<ns>} (a ctr container's cgroup is {@code /<ns>/<id>}) and krill's
   * fallback {@code /krill/<ns>}. Empty on a host without v1 hierarchies.
   */
  public static List<Path> cgroupDirs(String ns) {
    List<Path> out = new ArrayList<>();
    for (Path root : CGROUP_ROOTS) {
      for (Path top : List.of(root.resolve(ns), root.resolve("krill").resolve(ns))) {
        if (!Files.isDirectory(top)) {
          continue;
        }
        try (Stream<Path> walk = Files.walk(top)) {
          walk.filter(Files::isDirectory).forEach(out::add);
        } catch (IOException | UncheckedIOException e) {
          out.add(top);
        }
      }
    }
    return out;
  }

  /**
   * Whether a runtime other than krill made cgroups of namespace {@code ns}: krill makes them only
   * in the cpu, cpuacct, memory and pids hierarchies, runc in every one (devices, freezer too).
   */
  private static boolean madeByAnotherRuntime(String ns) {
    return Stream.of("devices", "freezer")
        .anyMatch(c -> Files.isDirectory(Path.of("/sys/fs/cgroup", c, ns)));
  }

  /** The socket krill's launcher would create for namespace {@code ns} of this containerd. */
  public Path shimSocket(String ns) {
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256")
              .digest((socket + "/" + ns + "/krill").getBytes(StandardCharsets.UTF_8));
      return SHIM_SOCKET_DIR.resolve(HexFormat.of().formatHex(h));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private Set<String> knownNamespaces() {
    Set<String> all = new TreeSet<>(namespaces);
    if (process != null && process.isAlive()) {
      Result r = ctr("namespaces", "ls", "-q");
      if (r.ok()) {
        all.addAll(r.stdoutLines().stream().map(String::strip).filter(s -> !s.isEmpty()).toList());
      }
    }
    return all;
  }

  /**
   * Fails unless everything a test started is gone: krill daemons (given time for their idle exit),
   * mounts, bundle directories, daemon sockets, tasks or containers still registered in any
   * namespace, and cgroup directories of a namespace that had none before ({@link #cgroupDirs}).
   */
  public void assertNoLeaks() {
    List<String> problems = new ArrayList<>();
    Set<String> nss = knownNamespaces();
    for (String ns : nss) {
      Result tasks = ctr("-n", ns, "tasks", "ls", "-q");
      if (tasks.ok() && !tasks.stdout().isBlank()) {
        problems.add("tasks left in namespace " + ns + ": " + tasks.stdout().strip());
      }
      Result cs = ctr("-n", ns, "containers", "ls", "-q");
      if (cs.ok() && !cs.stdout().isBlank()) {
        problems.add("containers left in namespace " + ns + ": " + cs.stdout().strip());
      }
    }
    List<Host.Proc> daemons = awaitNoKrillDaemons();
    if (!daemons.isEmpty()) {
      problems.add(
          "krill processes still alive "
              + DAEMON_EXIT_TIMEOUT.toSeconds()
              + " s after the last task: "
              + daemons.stream().map(p -> p.pid() + " " + String.join(" ", p.argv())).toList());
    }
    List<Path> mounts = Host.mountsUnder(dir);
    if (!mounts.isEmpty()) {
      problems.add("mounts left: " + mounts);
    }
    problems.addAll(awaitNoBundles());
    for (String ns : cgroupFree) {
      List<Path> cgroups = cgroupDirs(ns);
      if (madeByAnotherRuntime(ns)) {
        // runc makes /<ns> in every hierarchy and never removes it; what is below it still counts
        cgroups = cgroups.stream().filter(p -> !CGROUP_ROOTS.contains(p.getParent())).toList();
      }
      if (!cgroups.isEmpty()) {
        problems.add("cgroups left for namespace " + ns + ": " + cgroups);
      }
    }
    for (String ns : nss) {
      if (Files.exists(shimSocket(ns))) {
        problems.add("krill socket left for namespace " + ns + ": " + shimSocket(ns));
      }
    }
    if (!problems.isEmpty()) {
      fail("leaks against " + version + ":\n  " + String.join("\n  ", problems));
    }
  }

  /**
   * containerd removes a task's bundle after the task has left its list and the shim's connection
   * is closed (renaming it to {@code .<id>} first), so a bundle gets a few seconds to go.
   */
  private List<String> awaitNoBundles() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<String> left = leftoverBundles();
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      left = leftoverBundles();
    }
    return left;
  }

  private List<String> leftoverBundles() {
    List<String> out = new ArrayList<>();
    Path tasks = state.resolve(TASK_PLUGIN_DIR);
    if (!Files.isDirectory(tasks)) {
      return out;
    }
    try (Stream<Path> nss = Files.list(tasks)) {
      for (Path ns : (Iterable<Path>) nss::iterator) {
        try (Stream<Path> bundles = Files.list(ns)) {
          bundles.forEach(b -> out.add("bundle left: " + b));
        }
      }
    } catch (IOException e) {
      out.add("cannot list " + tasks + ": " + e);
    }
    return out;
  }

  /**
   * Stops containerd and cleans up after it; fails the test if krill daemons outlive it or mounts
   * are left. Nothing is deleted while something is still mounted below the temp dir, so a
   * bind-mounted host dir is never emptied by the cleanup.
   */
  @Override
  public void close() {
    List<String> problems = new ArrayList<>();
    synchronized (background) {
      background.forEach(CtrProcess::close);
    }
    stop();
    problems.addAll(Host.reapRuncShims(socket));
    List<Host.Proc> daemons = awaitNoKrillDaemons();
    if (!daemons.isEmpty()) {
      problems.add(
          "krill processes outlived containerd: " + daemons.stream().map(Host.Proc::pid).toList());
      daemons.forEach(p -> ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly));
      awaitNoKrillDaemons();
    }
    for (String ns : namespaces) {
      Path s = shimSocket(ns);
      if (Files.exists(s)) {
        problems.add("krill socket left: " + s);
        try {
          Files.deleteIfExists(s);
        } catch (IOException e) {
          problems.add("cannot delete " + s + ": " + e);
        }
      }
    }
    List<Path> mounts = Host.mountsUnder(dir);
    if (!mounts.isEmpty()) {
      problems.add("mounts left after containerd stopped: " + mounts);
      for (Path m : mounts) {
        if (Host.run("umount", m.toString()) != 0) {
          Host.run("umount", "-l", m.toString());
        }
      }
    }
    List<Path> stuck = Host.mountsUnder(dir);
    if (stuck.isEmpty()) {
      Host.deleteTree(dir);
    } else {
      problems.add("still mounted, " + dir + " kept: " + stuck);
    }
    if (!problems.isEmpty()) {
      fail("cleanup of " + version + " found problems:\n  " + String.join("\n  ", problems));
    }
  }
}
