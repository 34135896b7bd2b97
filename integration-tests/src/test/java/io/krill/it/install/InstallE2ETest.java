package io.krill.it.install;

import static io.krill.it.harness.InstalledNode.must;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Dist;
import io.krill.it.harness.Host;
import io.krill.it.harness.InstalledNode;
import io.krill.it.harness.KrillTasks;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The install as docs/install.md shows it: unpack the release tarball, {@code krill install} into a
 * root holding containerd's own default config, restart containerd, run a wasm image, uninstall.
 */
class InstallE2ETest {
  private static final String RUNTIME_TABLE = "runtimes.krill]";

  @ParameterizedTest
  @EnumSource(ContainerdVersion.class)
  void install_defaultConfig_runsWasmWithBundledJavaAndUninstallRestoresBytes(
      ContainerdVersion version) throws Exception {
    try (InstalledNode node = new InstalledNode(version)) {
      Path config = node.containerdConfig();
      byte[] original = Files.readAllBytes(config);
      String root = node.root().toString();

      Result install =
          node.krill("install", "--root", root, "--containerd", version.containerd().toString());
      must(0, install);
      assertTrue(install.stdout().contains("kind: RuntimeClass"), install.toString());
      String installed = Files.readString(config);
      assertTrue(installed.startsWith(new String(original, "UTF-8")), "install must only append");
      String table = version.isV2() ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri";
      assertTrue(
          installed.contains("[plugins.\"" + table + "\".containerd." + RUNTIME_TABLE), installed);
      assertTrue(
          installed.contains(
              "[plugins.\""
                  + table
                  + "\".containerd.runtimes.krill-isolated]\n  runtime_type = \""
                  + Dist.ISOLATED_RUNTIME
                  + "\"\n"),
          installed);

      must(
          0,
          node.krill("install", "--root", root, "--containerd", version.containerd().toString()));
      assertEquals(installed, Files.readString(config), "a second install changes nothing");
      assertEquals(1, installed.split(Pattern.quote(RUNTIME_TABLE), -1).length - 1);

      // Proves the daemon reads the installed settings file: it leaves 2 s after its task, not 30.
      Path krillConfig = node.root().resolve("etc/krill/config.toml");
      Files.writeString(
          krillConfig,
          Files.readString(krillConfig).replace("idle_timeout = 30", "idle_timeout = 2"));

      node.startContainerd();
      Result doctor =
          node.krill("doctor", "--root", root, "--containerd", version.containerd().toString());
      assertTrue(
          doctor.stdout().contains("ok    containerd config: version " + (version.isV2() ? 3 : 2)),
          doctor.toString());
      assertCriLoaded(node, version);

      must(0, node.ctr("-n", "inst", "images", "import", TestImages.HELLO.tarball().toString()));
      String id = "inst-" + ProcessHandle.current().pid();
      Result run =
          node.ctr(
              "-n", "inst", "run", "--rm", "--runtime", Dist.RUNTIME, TestImages.HELLO.ref(), id);
      assertEquals(0, run.exitCode(), run + "\n" + node.logTail());
      assertEquals(KrillTasks.HELLO, run.stdout());

      List<Host.Proc> daemons = node.daemons();
      assertEquals(1, daemons.size(), "daemons: " + daemons);
      Path exe = Path.of("/proc", String.valueOf(daemons.get(0).pid()), "exe").toRealPath();
      assertTrue(
          exe.startsWith(node.installTree().resolve("jre").toRealPath()),
          "daemon runs " + exe + ", not the bundled runtime");
      assertUsesAotCache(node, daemons.get(0).pid());
      assertTrue(
          Host.daemonLogs(node.runDir()).contains("container=" + id),
          "daemon log names the container");
      long deadline = System.nanoTime() + 15_000_000_000L;
      while (!node.daemons().isEmpty() && System.nanoTime() < deadline) {
        Host.sleep(100);
      }
      assertTrue(
          node.daemons().isEmpty(), "daemon did not leave after idle_timeout = 2 from config.toml");
      node.stopContainerd();

      // krill-isolated, through the link install made: a daemon of its own, which leaves with its
      // last task, long before the idle timeout (now 60 s) would let a shared daemon go.
      Files.writeString(
          krillConfig,
          Files.readString(krillConfig).replace("idle_timeout = 2", "idle_timeout = 60"));
      node.startContainerd();
      List<Path> sharedRunDirs;
      try (Stream<Path> dirs = Files.list(node.runDir().resolve("shim"))) {
        sharedRunDirs = dirs.toList();
      }
      String iso = "inst-iso-" + ProcessHandle.current().pid();
      Result isolated =
          node.ctr(
              "-n",
              "inst",
              "run",
              "--rm",
              "--runtime",
              Dist.ISOLATED_RUNTIME,
              TestImages.HELLO.ref(),
              iso);
      assertEquals(0, isolated.exitCode(), isolated + "\n" + node.logTail());
      assertEquals(KrillTasks.HELLO, isolated.stdout());
      deadline = System.nanoTime() + 10_000_000_000L;
      while (!node.daemons().isEmpty() && System.nanoTime() < deadline) {
        Host.sleep(100);
      }
      assertTrue(node.daemons().isEmpty(), "the pod daemon outlived its task: " + node.daemons());
      try (Stream<Path> left = Files.list(node.runDir().resolve("shim"))) {
        assertEquals(sharedRunDirs, left.toList(), "the pod daemon's run dir is gone with it");
      }
      node.stopContainerd();

      Result uninstall = node.krill("uninstall", "--root", root);
      must(0, uninstall);
      assertEquals(new String(original, "UTF-8"), Files.readString(config));
      assertTrue(
          Arrays.equals(original, Files.readAllBytes(config)), "config back to the original bytes");
      assertFalse(
          Files.exists(
              node.root().resolve("usr/local/bin/containerd-shim-krill-v1"),
              LinkOption.NOFOLLOW_LINKS));
      assertFalse(
          Files.exists(
              node.root().resolve("usr/local/bin/containerd-shim-krill-isolated-v1"),
              LinkOption.NOFOLLOW_LINKS));
      assertFalse(Files.exists(config.resolveSibling("config.toml.krill-backup")));
    }
  }

  @Test
  void install_corruptConfig_refusedAndFileUntouched() throws Exception {
    try (InstalledNode node = new InstalledNode(ContainerdVersion.V1_6)) {
      Path config = node.containerdConfig();
      String corrupt =
          Files.readString(config) + "\n[plugins.\"io.containerd.grpc.v1.cri\"\n  broken = \n";
      Files.writeString(config, corrupt);
      Result r = node.krill("install", "--root", node.root().toString());
      assertEquals(1, r.exitCode(), r.toString());
      assertTrue(r.stderr().contains("not valid TOML"), r.toString());
      assertEquals(corrupt, Files.readString(config));
      assertFalse(Files.exists(config.resolveSibling("config.toml.krill-backup")));
      Result dry = node.krill("install", "--root", node.root().toString(), "--dry-run");
      assertEquals(1, dry.exitCode(), dry.toString());
    }
  }

  /**
   * The CRI plugin parsed the config with krill's table in it (CNI may be missing: that is fine).
   */
  /**
   * The daemon runs with the release's AOT cache, and the cache, made by {@code make dist} in
   * another directory, is usable here: the daemon's own java flags and class path, with {@code
   * -XX:AOTMode=on} (which makes a refused cache fatal instead of silently ignored), load the
   * daemon's main class from it.
   */
  private static void assertUsesAotCache(InstalledNode node, long pid) throws IOException {
    List<String> argv =
        List.of(Files.readString(Path.of("/proc", String.valueOf(pid), "cmdline")).split("\0"));
    Path cache = node.installTree().resolve("lib/daemon.aot");
    assertTrue(Files.isRegularFile(cache), "the release has no " + cache);
    assertTrue(
        argv.contains("-XX:AOTCache=" + cache.toRealPath())
            || argv.contains("-XX:AOTCache=" + cache),
        "the daemon runs without the AOT cache: " + argv);
    List<String> check = new ArrayList<>(argv.subList(0, argv.indexOf("io.krill.shim.Daemon")));
    check.addAll(
        List.of("-XX:AOTMode=on", "-Xlog:class+load=info", "io.krill.shim.Daemon", "-version"));
    Result r = InstalledNode.run(check);
    assertTrue(
        r.stdout().contains("io.krill.shim.Daemon source: shared objects file"),
        "the daemon's class does not come from the AOT cache: " + r);
  }

  private static void assertCriLoaded(InstalledNode node, ContainerdVersion version) {
    Result plugins = node.ctr("plugins", "ls");
    String id = version.isV2() ? "io.containerd.cri.v1" : "io.containerd.grpc.v1";
    String name = version.isV2() ? "runtime" : "cri";
    boolean ok =
        plugins.stdoutLines().stream()
            .map(l -> l.trim().split("\\s+"))
            .anyMatch(
                f ->
                    f.length >= 4
                        && f[0].equals(id)
                        && f[1].equals(name)
                        && f[f.length - 1].equals("ok"));
    if (!ok) {
      fail("CRI plugin not ok on " + version + ":\n" + plugins.stdout() + "\n" + node.logTail());
    }
  }
}
