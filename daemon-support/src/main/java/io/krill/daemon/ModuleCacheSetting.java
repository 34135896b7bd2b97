package io.krill.daemon;

import java.util.Map;

/**
 * The bounds of the daemon's in-memory cache of compiled modules, shared by all its tasks: {@code
 * module_cache_entries} (how many modules, {@code KRILL_MODULE_CACHE_ENTRIES}) and {@code
 * module_cache_memory} (how many bytes of them, {@code KRILL_MODULE_CACHE_MEMORY}); {@code 0} keeps
 * none beyond the tasks running them.
 */
public record ModuleCacheSetting(int entries, long bytes) {
  public static final String ENTRIES_KEY = "module_cache_entries";
  public static final String MEMORY_KEY = "module_cache_memory";
  public static final int DEFAULT_ENTRIES = 32;
  public static final String DEFAULT_MEMORY = "64Mi";

  /** Reads both settings (environment over file); a bad value is an error naming its key. */
  public static ModuleCacheSetting resolve(DaemonConfigFile file, Map<String, String> env) {
    String entries = file.get(ENTRIES_KEY, env, String.valueOf(DEFAULT_ENTRIES)).strip();
    int n;
    try {
      n = Integer.parseInt(entries);
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 0) {
      throw new IllegalArgumentException(
          ENTRIES_KEY
              + ": \""
              + entries
              + "\" is not a number of modules (set a whole number, 0 for none; default "
              + DEFAULT_ENTRIES
              + ")");
    }
    String memory = file.get(MEMORY_KEY, env, DEFAULT_MEMORY);
    long bytes;
    try {
      bytes = Sizes.parse(memory);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(MEMORY_KEY + ": " + e.getMessage());
    }
    return new ModuleCacheSetting(n, bytes);
  }
}
