package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleCacheSettingTest {
  private static final Path FILE = Path.of("/etc/krill/config.toml");

  @Test
  void unset_defaults() {
    assertEquals(
        new ModuleCacheSetting(32, 64L << 20),
        ModuleCacheSetting.resolve(DaemonConfigFile.empty(), Map.of()));
  }

  @Test
  void file_thenEnvironmentWins() {
    DaemonConfigFile file =
        DaemonConfigFile.parse(FILE, "module_cache_entries = 8\nmodule_cache_memory = \"1Gi\"\n");
    assertEquals(new ModuleCacheSetting(8, 1L << 30), ModuleCacheSetting.resolve(file, Map.of()));
    assertEquals(
        new ModuleCacheSetting(0, 1L << 30),
        ModuleCacheSetting.resolve(file, Map.of("KRILL_MODULE_CACHE_ENTRIES", "0")));
  }

  @Test
  void badValues_errorsNameTheKey() {
    DaemonConfigFile file = DaemonConfigFile.parse(FILE, "module_cache_entries = -1\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ModuleCacheSetting.resolve(file, Map.of()));
    assertTrue(e.getMessage().startsWith("module_cache_entries: "), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ModuleCacheSetting.resolve(
                    DaemonConfigFile.empty(), Map.of("KRILL_MODULE_CACHE_MEMORY", "lots")));
    assertTrue(e.getMessage().startsWith("module_cache_memory: "), e.getMessage());
  }
}
