package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigFileTest {
  private static final Path P = Path.of("config.toml");

  @Test
  void parse_commentsStringsAndNumbers_read() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(
            P,
            List.of(
                "# krill",
                "",
                "cache_dir = \"/c#1\"  # trailing",
                "idle_timeout = 2.5",
                "default_memory_limit = 1_048_576",
                "log_level = 'debug'"));
    assertEquals("/c#1", f.values().get("cache_dir"));
    assertEquals("2.5", f.values().get("idle_timeout"));
    assertEquals("1048576", f.values().get("default_memory_limit"));
    assertEquals("debug", f.values().get("log_level"));
  }

  @Test
  void parse_unknownKey_illegalArgumentNamingLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DaemonConfigFile.parse(P, List.of("", "cache_dri = \"/x\"")));
    assertTrue(
        e.getMessage().contains("config.toml:2") && e.getMessage().contains("cache_dri"),
        e.getMessage());
  }

  @Test
  void parse_tableOrBareWord_illegalArgument() {
    assertThrows(
        IllegalArgumentException.class, () -> DaemonConfigFile.parse(P, List.of("[daemon]")));
    assertThrows(
        IllegalArgumentException.class, () -> DaemonConfigFile.parse(P, List.of("cache_dir = /x")));
    assertThrows(
        IllegalArgumentException.class,
        () -> DaemonConfigFile.parse(P, List.of("idle_timeout = 1", "idle_timeout = 2")));
  }

  @Test
  void engine_unsetIsWasmtime_fileOrEnvironmentChooses() {
    assertEquals("wasmtime", DaemonConfigFile.parse(P, List.of()).engine(Map.of()));
    DaemonConfigFile chicory = DaemonConfigFile.parse(P, List.of("engine = \"chicory\""));
    assertEquals("chicory", chicory.engine(Map.of()));
    assertEquals("wasmtime", chicory.engine(Map.of("KRILL_ENGINE", "wasmtime")));
  }

  @Test
  void engine_unknown_illegalArgumentNamingTheChoices() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DaemonConfigFile.parse(P, List.of("engine = \"v8\"")).engine(Map.of()));
    assertTrue(e.getMessage().contains("v8"), e.getMessage());
    assertTrue(e.getMessage().contains("chicory"), e.getMessage());
  }

  @Test
  void get_environmentWinsOverFile() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(P, List.of("idle_timeout = 7", "cache_dir = \"/file\""));
    assertEquals("3", f.get("idle_timeout", Map.of("KRILL_IDLE_TIMEOUT", "3"), "30"));
    assertEquals("/file", f.get("cache_dir", Map.of(), "/default"));
    assertEquals("0", f.get("default_memory_limit", Map.of(), "0"));
  }

  @Test
  void parse_criTable_readWithItsArray() {
    DaemonConfigFile f =
        DaemonConfigFile.parse(
            P,
            List.of(
                "default_memory_limit = \"512Mi\"",
                "[cri]",
                "root = \"/r\"",
                "image_size_limit = \"1G\"",
                "plain_http_registries = [\"reg:5000\", \"r2:80\"]"));
    assertEquals("512Mi", f.values().get("default_memory_limit"));
    assertEquals(Optional.of("/r"), f.cri("root"));
    assertEquals(Optional.of("1G"), f.cri("image_size_limit"));
    assertEquals(Optional.empty(), f.cri("socket"));
    assertEquals(List.of("reg:5000", "r2:80"), f.criList("plain_http_registries"));
  }

  @Test
  void parse_unknownCriKey_illegalArgumentNamingLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DaemonConfigFile.parse(P, List.of("[cri]", "sockt = \"/x\"")));
    assertTrue(
        e.getMessage().contains("config.toml:2") && e.getMessage().contains("cri.sockt"),
        e.getMessage());
  }

  @Test
  void load_krillConfigEnv_readsThatFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("k.toml");
    Files.writeString(file, "cache_dir = \"/from-env-file\"\n");
    DaemonConfigFile f = DaemonConfigFile.load(Map.of("KRILL_CONFIG", file.toString()));
    assertEquals("/from-env-file", f.get("cache_dir", Map.of(), ""));
  }

  @Test
  void load_krillConfigEnvMissingFile_illegalArgument(@TempDir Path dir) {
    assertThrows(
        IllegalArgumentException.class,
        () -> DaemonConfigFile.load(Map.of("KRILL_CONFIG", dir.resolve("none.toml").toString())));
  }
}
