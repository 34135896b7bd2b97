package io.krill.shim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's settings file ({@code /etc/krill/config.toml}, or {@code $KRILL_CONFIG}): flat TOML,
 * {@code key = value} lines only. A strict subset is parsed here rather than pulling a TOML library
 * into every daemon: the file has no tables, and anything this reader does not understand is an
 * error naming the line, never a silently ignored setting.
 */
record DaemonConfigFile(Path path, Map<String, String> values) {
  static final Path DEFAULT_PATH = Path.of("/etc/krill/config.toml");
  /** Keys the file may set, each also settable by the environment variable in {@link #ENV}. */
  static final Set<String> KEYS = Set.of("cache_dir", "log_level", "idle_timeout", "default_memory_limit",
      "log_max_bytes");
  static final Map<String, String> ENV = Map.of("cache_dir", "KRILL_CACHE_DIR", "log_level", "KRILL_LOG_LEVEL",
      "idle_timeout", "KRILL_IDLE_TIMEOUT", "default_memory_limit", "KRILL_DEFAULT_MEMORY_LIMIT", "log_max_bytes",
      "KRILL_LOG_MAX_BYTES");

  DaemonConfigFile {
    values = Map.copyOf(values);
  }

  static DaemonConfigFile empty() {
    return new DaemonConfigFile(null, Map.of());
  }

  /** Reads {@code $KRILL_CONFIG} (which must exist) or the default path (which may be absent). */
  static DaemonConfigFile load(Map<String, String> env) {
    String explicit = env.get("KRILL_CONFIG");
    Path path = explicit == null || explicit.isEmpty() ? DEFAULT_PATH : Path.of(explicit);
    try {
      return parse(path, Files.readAllLines(path));
    } catch (NoSuchFileException e) {
      if (explicit != null && !explicit.isEmpty()) {
        throw new IllegalArgumentException("KRILL_CONFIG names a missing file: " + path);
      }
      return empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  static DaemonConfigFile parse(Path path, List<String> lines) {
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = stripComment(lines.get(i)).strip();
      if (line.isEmpty()) {
        continue;
      }
      int eq = line.indexOf('=');
      String where = path + ":" + (i + 1) + ": ";
      if (eq <= 0) {
        throw new IllegalArgumentException(where + "expected key = value, got: " + line);
      }
      String key = line.substring(0, eq).strip();
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException(where + "unknown setting " + key + " (known: " + KEYS + ")");
      }
      if (values.put(key, value(line.substring(eq + 1).strip(), where)) != null) {
        throw new IllegalArgumentException(where + key + " is set twice");
      }
    }
    return new DaemonConfigFile(path, values);
  }

  /** The environment variable wins over the file, so one containerd unit can override a node default. */
  String get(String key, Map<String, String> env, String fallback) {
    String fromEnv = env.get(ENV.get(key));
    if (fromEnv != null) {
      return fromEnv;
    }
    return values.getOrDefault(key, fallback);
  }

  private static String value(String v, String where) {
    if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
      String s = v.substring(1, v.length() - 1);
      if (s.contains("\\") && v.startsWith("\"")) {
        throw new IllegalArgumentException(where + "escapes are not supported; use a 'literal string'");
      }
      return s;
    }
    if (v.matches("[0-9][0-9_]*(\\.[0-9]+)?")) {
      return v.replace("_", "");
    }
    throw new IllegalArgumentException(where + "expected a quoted string or a number, got: " + v);
  }

  private static String stripComment(String line) {
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#') {
        return line.substring(0, i);
      }
    }
    return line;
  }
}
