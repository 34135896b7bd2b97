package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigFileTest {
  private static final Path P = Path.of("config.toml");

  @Test
  void parse_commentsStringsAndNumbers_read() {
    DaemonConfigFile f = DaemonConfigFile.parse(P, List.of("# krill", "", "cache_dir = \"/c#1\"  # trailing",
        "idle_timeout = 2.5", "default_memory_limit = 1_048_576", "log_level = 'debug'"));
    assertEquals("/c#1", f.values().get("cache_dir"));
    assertEquals("2.5", f.values().get("idle_timeout"));
    assertEquals("1048576", f.values().get("default_memory_limit"));
    assertEquals("debug", f.values().get("log_level"));
  }

  @Test
  void parse_unknownKey_illegalArgumentNamingLine() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DaemonConfigFile.parse(P, List.of("", "cache_dri = \"/x\"")));
    assertTrue(e.getMessage().contains("config.toml:2") && e.getMessage().contains("cache_dri"), e.getMessage());
  }

  @Test
  void parse_tableOrBareWord_illegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> DaemonConfigFile.parse(P, List.of("[daemon]")));
    assertThrows(IllegalArgumentException.class, () -> DaemonConfigFile.parse(P, List.of("cache_dir = /x")));
    assertThrows(IllegalArgumentException.class,
        () -> DaemonConfigFile.parse(P, List.of("idle_timeout = 1", "idle_timeout = 2")));
  }

  @Test
  void options_fileValues_usedUnlessEnvironmentOverrides() {
    DaemonConfigFile f = DaemonConfigFile.parse(P, List.of("cache_dir = \"/file\"", "idle_timeout = 7",
        "default_memory_limit = 4096", "log_level = \"warn\"", "log_max_bytes = 1000"));
    DaemonOptions o = DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of("KRILL_IDLE_TIMEOUT", "3"), f);
    assertEquals(Duration.ofSeconds(3), o.idleTimeout());
    assertEquals(Optional.of(Path.of("/file")), o.cacheDir());
    assertEquals(4096, o.defaultMemoryLimit());
    assertEquals(Level.WARNING, o.logLevel());
    assertEquals(1000, o.logMaxBytes());
  }

  @Test
  void options_badLogLevel_illegalArgument() {
    DaemonConfigFile f = DaemonConfigFile.parse(P, List.of("log_level = \"loud\""));
    assertThrows(IllegalArgumentException.class, () -> DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of(), f));
  }

  @Test
  void load_krillConfigEnv_readsThatFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("k.toml");
    Files.writeString(file, "cache_dir = \"/from-env-file\"\n");
    DaemonOptions o = DaemonOptions.parse(new String[] {"-socket", "/s"}, Map.of("KRILL_CONFIG", file.toString()));
    assertEquals(Optional.of(Path.of("/from-env-file")), o.cacheDir());
  }

  @Test
  void load_krillConfigEnvMissingFile_illegalArgument(@TempDir Path dir) {
    assertThrows(IllegalArgumentException.class,
        () -> DaemonConfigFile.load(Map.of("KRILL_CONFIG", dir.resolve("none.toml").toString())));
  }
}
