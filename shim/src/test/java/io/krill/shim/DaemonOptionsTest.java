package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.daemon.DaemonConfigFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonOptionsTest {
  private static DaemonOptions parse(Map<String, String> env, String... args) {
    return DaemonOptions.parse(args, env);
  }

  @Test
  void parse_singleDashFlags_readsValues() {
    DaemonOptions o =
        parse(
            Map.of(),
            "-socket",
            "/run/k.sock",
            "-namespace",
            "k8s.io",
            "-address",
            "/run/containerd/containerd.sock",
            "-ttrpc-address",
            "/run/containerd/containerd.sock.ttrpc",
            "-run-dir",
            "/run/krill",
            "-debug");
    assertEquals(Path.of("/run/k.sock"), o.socket());
    assertEquals("k8s.io", o.namespace());
    assertEquals("/run/containerd/containerd.sock", o.address());
    assertEquals(Path.of("/run/containerd/containerd.sock.ttrpc"), o.ttrpcAddress());
    assertEquals(Path.of("/run/krill"), o.runDir());
    assertTrue(o.debug());
  }

  @Test
  void parse_engine_wasmtimeUnlessTheFileOrEnvironmentSaysChicory() {
    assertEquals(
        "wasmtime",
        DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), DaemonConfigFile.empty())
            .engine());
    DaemonConfigFile chicory =
        DaemonConfigFile.parse(Path.of("config.toml"), List.of("engine = \"chicory\""));
    assertEquals(
        "chicory", DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), chicory).engine());
    assertEquals(
        "chicory",
        DaemonOptions.parse(
                new String[] {"-socket", "/s"},
                Map.of("KRILL_ENGINE", "chicory"),
                DaemonConfigFile.empty())
            .engine());
  }

  @Test
  void parse_isolated_namesThePod() {
    DaemonOptions o =
        parse(Map.of(), "-socket", "/s", "-namespace", "k8s.io", "-isolated", "0123abcd");
    assertEquals(Optional.of("0123abcd"), o.isolatedPod());
    assertEquals("pod 0123abcd (namespace k8s.io)", o.serves());
    assertEquals(DaemonOptions.POD_BUDGET, o.memoryBudget(), "auto: the pod's cgroup decides");
    assertEquals(
        64L << 20,
        parse(Map.of("KRILL_MEMORY_BUDGET", "64Mi"), "-socket", "/s", "-isolated", "p")
            .memoryBudget()
            .bytes(),
        "a budget set explicitly still applies");
  }

  @Test
  void parse_withoutIsolated_servesTheNamespace() {
    DaemonOptions o = parse(Map.of(), "-socket", "/s", "-namespace", "k8s.io");
    assertEquals(Optional.empty(), o.isolatedPod());
    assertEquals("namespace k8s.io", o.serves());
  }

  @Test
  void parse_doubleDashFlags_readsValues() {
    DaemonOptions o = parse(Map.of(), "--socket", "/run/k.sock", "--namespace", "ns1", "--debug");
    assertEquals(Path.of("/run/k.sock"), o.socket());
    assertEquals("ns1", o.namespace());
    assertTrue(o.debug());
  }

  @Test
  void parse_onlySocket_defaults() {
    DaemonOptions o = parse(Map.of(), "-socket", "/s");
    assertEquals("default", o.namespace());
    assertEquals("", o.address());
    assertNull(o.ttrpcAddress());
    assertNull(o.runDir());
    assertFalse(o.debug());
    assertEquals(Duration.ofSeconds(30), o.idleTimeout());
    assertEquals(Optional.of(Path.of("/var/lib/krill/cache")), o.cacheDir());
    assertEquals(256L << 20, o.defaultMemoryLimit());
    assertTrue(o.memoryBudget().how().contains("minus the JVM's maximum heap"));
  }

  @Test
  void options_memoryBudget_fromEnvironmentOverFileAndZeroDefaultLimitKept() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(
            Path.of("config.toml"), List.of("memory_budget = \"2G\"", "default_memory_limit = 0"));
    DaemonOptions o =
        DaemonOptions.parse(
            new String[] {"-socket", "/s"}, Map.of("KRILL_MEMORY_BUDGET", "96Mi"), f);
    assertEquals(96L << 20, o.memoryBudget().bytes());
    assertEquals(0, o.defaultMemoryLimit());
    assertEquals(
        2L << 30,
        DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), f).memoryBudget().bytes());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of("KRILL_MEMORY_BUDGET", "half"), "-socket", "/s"));
    assertTrue(e.getMessage().startsWith("memory_budget: 'half'"), e.getMessage());
  }

  @Test
  void parse_noTtrpcFlag_usesTtrpcAddressEnvWithoutUnixScheme() {
    DaemonOptions o =
        parse(
            Map.of("TTRPC_ADDRESS", "unix:///run/containerd/containerd.sock.ttrpc"),
            "-socket",
            "/s",
            "-address",
            "/run/containerd/containerd.sock");
    assertEquals(Path.of("/run/containerd/containerd.sock.ttrpc"), o.ttrpcAddress());
  }

  @Test
  void parse_noTtrpcFlagNoEnv_derivesFromAddress() {
    DaemonOptions o = parse(Map.of(), "-socket", "/s", "-address", "/run/c.sock");
    assertEquals(Path.of("/run/c.sock.ttrpc"), o.ttrpcAddress());
  }

  @Test
  void parse_emptyTtrpcFlag_fallsBackToEnv() {
    DaemonOptions o =
        parse(Map.of("TTRPC_ADDRESS", "/env.ttrpc"), "-socket", "/s", "-ttrpc-address", "");
    assertEquals(Path.of("/env.ttrpc"), o.ttrpcAddress());
  }

  @Test
  void parse_ttrpcFlag_winsOverEnv() {
    DaemonOptions o =
        parse(
            Map.of("TTRPC_ADDRESS", "/env.ttrpc"),
            "-socket",
            "/s",
            "-ttrpc-address",
            "/flag.ttrpc");
    assertEquals(Path.of("/flag.ttrpc"), o.ttrpcAddress());
  }

  @Test
  void parse_idleTimeoutSeconds_read() {
    assertEquals(
        Duration.ofSeconds(5),
        parse(Map.of("KRILL_IDLE_TIMEOUT", "5"), "-socket", "/s").idleTimeout());
  }

  @Test
  void parse_fractionalIdleTimeout_keepsMilliseconds() {
    assertEquals(
        Duration.ofMillis(2500),
        parse(Map.of("KRILL_IDLE_TIMEOUT", "2.5"), "-socket", "/s").idleTimeout());
    assertEquals(
        Duration.ofMillis(100),
        parse(Map.of("KRILL_IDLE_TIMEOUT", "0.1"), "-socket", "/s").idleTimeout());
  }

  @Test
  void parse_idleTimeoutFlag_winsOverEnvAndZeroNeverExits() {
    DaemonOptions o =
        parse(
            Map.of("KRILL_IDLE_TIMEOUT", "5"),
            "-socket",
            "/s",
            "-foreground",
            "-idle-timeout",
            "0");
    assertTrue(o.foreground());
    assertFalse(o.idleExits());
    assertTrue(parse(Map.of(), "-socket", "/s").idleExits());
    assertFalse(parse(Map.of(), "-socket", "/s").foreground());
  }

  @Test
  void parse_negativeIdleTimeout_illegalArgument() {
    assertThrows(
        IllegalArgumentException.class,
        () -> parse(Map.of(), "-socket", "/s", "-idle-timeout", "-1"));
  }

  @Test
  void parse_badIdleTimeout_illegalArgument() {
    assertThrows(
        IllegalArgumentException.class,
        () -> parse(Map.of("KRILL_IDLE_TIMEOUT", "soon"), "-socket", "/s"));
  }

  @Test
  void parse_cacheDirAndMemoryEnv_read() {
    DaemonOptions o =
        parse(
            Map.of("KRILL_CACHE_DIR", "/tmp/c", "KRILL_DEFAULT_MEMORY_LIMIT", "1048576"),
            "-socket",
            "/s");
    assertEquals(Optional.of(Path.of("/tmp/c")), o.cacheDir());
    assertEquals(1048576, o.defaultMemoryLimit());
  }

  @Test
  void parse_emptyCacheDir_disablesCache() {
    assertEquals(
        Optional.empty(), parse(Map.of("KRILL_CACHE_DIR", ""), "-socket", "/s").cacheDir());
  }

  @Test
  void parse_launcherOnlyFlags_skippedWithTheirValues() {
    DaemonOptions o =
        parse(
            Map.of(),
            "-publish-binary",
            "/usr/bin/containerd",
            "-id",
            "c1",
            "-bundle",
            "/b",
            "-socket",
            "/s");
    assertEquals(Path.of("/s"), o.socket());
  }

  @Test
  void parse_emptyPublishBinary_skippedWithItsValue() {
    DaemonOptions o = parse(Map.of(), "-publish-binary", "", "-socket", "/s");
    assertEquals(Path.of("/s"), o.socket());
  }

  @Test
  void parse_missingSocket_illegalArgument() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of(), "-debug"));
    assertTrue(e.getMessage().contains("-socket"), e.getMessage());
  }

  @Test
  void parse_unknownFlag_illegalArgumentNamingIt() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of(), "-socket", "/s", "-frobnicate", "x"));
    assertTrue(e.getMessage().contains("-frobnicate"), e.getMessage());
  }

  @Test
  void parse_trailingFlagWithoutValue_illegalArgument() {
    assertThrows(
        IllegalArgumentException.class, () -> parse(Map.of(), "-socket", "/s", "-namespace"));
  }

  @Test
  void options_fileValues_usedUnlessEnvironmentOverrides() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(
            Path.of("config.toml"),
            List.of(
                "cache_dir = \"/file\"",
                "idle_timeout = 7",
                "default_memory_limit = 4096",
                "log_level = \"warn\"",
                "log_max_bytes = 1000"));
    DaemonOptions o =
        DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of("KRILL_IDLE_TIMEOUT", "3"), f);
    assertEquals(Duration.ofSeconds(3), o.idleTimeout());
    assertEquals(Optional.of(Path.of("/file")), o.cacheDir());
    assertEquals(4096, o.defaultMemoryLimit());
    assertEquals(Level.WARNING, o.logLevel());
    assertEquals(1000, o.logMaxBytes());
  }

  @Test
  void options_sizesWithSuffixes_read() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(
            Path.of("config.toml"),
            List.of("default_memory_limit = \"512Mi\"", "log_max_bytes = \"1M\""));
    DaemonOptions o = DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), f);
    assertEquals(512L << 20, o.defaultMemoryLimit());
    assertEquals(1L << 20, o.logMaxBytes());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of("KRILL_DEFAULT_MEMORY_LIMIT", "lots"), "-socket", "/s"));
    assertTrue(
        e.getMessage().contains("default_memory_limit") && e.getMessage().contains("512Mi"),
        e.getMessage());
  }

  @Test
  void options_badLogLevel_illegalArgument() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(Path.of("config.toml"), List.of("log_level = \"loud\""));
    assertThrows(
        IllegalArgumentException.class,
        () -> DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), f));
  }

  @Test
  void load_krillConfigEnv_readsThatFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("k.toml");
    Files.writeString(file, "cache_dir = \"/from-env-file\"\n");
    DaemonOptions o =
        DaemonOptions.parse(
            new String[] {"-socket", "/s"}, Map.of("KRILL_CONFIG", file.toString()));
    assertEquals(Optional.of(Path.of("/from-env-file")), o.cacheDir());
  }
}
