package io.krill.daemon;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The node's settings file for both daemons ({@code /etc/krill/config.toml}, or {@code
 * $KRILL_CONFIG}), read with Jackson's TOML parser. Top-level keys are shared (each also settable
 * by the environment variable in {@link #ENV}); the {@code [cri]} table holds {@code krill cri}'s
 * settings, named as its flags are. Anything this reader does not know is an error naming the file
 * (and the line, where it can be found), never a silently ignored setting.
 *
 * <p>{@link #values()} holds every scalar as text, table keys dotted ({@code cri.root}); arrays are
 * in {@link #lists()}.
 */
public record DaemonConfigFile(
    Path path, Map<String, String> values, Map<String, List<String>> lists) {
  public static final Path DEFAULT_PATH = Path.of("/etc/krill/config.toml");

  /** Top-level keys, each also settable by the environment variable in {@link #ENV}. */
  public static final Set<String> KEYS =
      Set.of(
          "cache_dir",
          "log_level",
          "idle_timeout",
          "default_memory_limit",
          "memory_budget",
          "log_max_bytes",
          "engine",
          "module_cache_entries",
          "module_cache_memory");

  public static final Map<String, String> ENV =
      Map.of(
          "cache_dir",
          "KRILL_CACHE_DIR",
          "log_level",
          "KRILL_LOG_LEVEL",
          "idle_timeout",
          "KRILL_IDLE_TIMEOUT",
          "default_memory_limit",
          "KRILL_DEFAULT_MEMORY_LIMIT",
          "memory_budget",
          "KRILL_MEMORY_BUDGET",
          "log_max_bytes",
          "KRILL_LOG_MAX_BYTES",
          "engine",
          "KRILL_ENGINE",
          "module_cache_entries",
          "KRILL_MODULE_CACHE_ENTRIES",
          "module_cache_memory",
          "KRILL_MODULE_CACHE_MEMORY");

  /** The values of {@code engine}: which engine runs the daemon's guests. */
  public static final List<String> ENGINES = List.of("wasmtime", "chicory");

  /** The engine when {@code engine} is not set. */
  public static final String DEFAULT_ENGINE = "wasmtime";

  /** {@code krill cri}'s table: its flags without the dashes; the command line wins over these. */
  public static final Set<String> CRI_KEYS =
      Set.of(
          "socket",
          "root",
          "cni_conf_dir",
          "cni_bin_dir",
          "plain_http_registries",
          "stream_address",
          "image_size_limit");

  private static final Set<String> CRI_LISTS = Set.of("plain_http_registries");
  private static final TomlMapper TOML = new TomlMapper();

  public DaemonConfigFile {
    values = Map.copyOf(values);
    lists = Map.copyOf(lists);
  }

  public DaemonConfigFile(Path path, Map<String, String> values) {
    this(path, values, Map.of());
  }

  public static DaemonConfigFile empty() {
    return new DaemonConfigFile(null, Map.of(), Map.of());
  }

  /** Reads {@code $KRILL_CONFIG} (which must exist) or the default path (which may be absent). */
  public static DaemonConfigFile load(Map<String, String> env) {
    String explicit = env.get("KRILL_CONFIG");
    Path path = explicit == null || explicit.isEmpty() ? DEFAULT_PATH : Path.of(explicit);
    try {
      return parse(path, Files.readString(path));
    } catch (NoSuchFileException e) {
      if (explicit != null && !explicit.isEmpty()) {
        throw new IllegalArgumentException("KRILL_CONFIG names a missing file: " + path);
      }
      return empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  public static DaemonConfigFile parse(Path path, List<String> lines) {
    return parse(path, String.join("\n", lines) + "\n");
  }

  public static DaemonConfigFile parse(Path path, String text) {
    JsonNode doc;
    try {
      doc = TOML.readTree(text);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          path
              + ": not valid TOML: "
              + e.getOriginalMessage()
              + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
    }
    Map<String, String> values = new LinkedHashMap<>();
    Map<String, List<String>> lists = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      JsonNode v = e.getValue();
      if (key.equals("cri") && v.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> c = v.fields(); c.hasNext(); ) {
          Map.Entry<String, JsonNode> ce = c.next();
          String name = ce.getKey();
          if (!CRI_KEYS.contains(name)) {
            throw new IllegalArgumentException(
                where(path, text, name)
                    + "unknown setting cri."
                    + name
                    + " (known in [cri]: "
                    + new TreeSet<>(CRI_KEYS)
                    + ")");
          }
          if (CRI_LISTS.contains(name)) {
            lists.put("cri." + name, list(ce.getValue(), where(path, text, name) + "cri." + name));
          } else {
            values.put(
                "cri." + name, scalar(ce.getValue(), where(path, text, name) + "cri." + name));
          }
        }
        continue;
      }
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException(
            where(path, text, key)
                + (v.isObject() ? "unknown table [" + key + "]" : "unknown setting " + key)
                + " (known: "
                + new TreeSet<>(KEYS)
                + " and the [cri] table)");
      }
      values.put(key, scalar(v, where(path, text, key) + key));
    }
    return new DaemonConfigFile(path, values, lists);
  }

  /**
   * The environment variable wins over the file, so one containerd unit can override a node
   * default.
   */
  public String get(String key, Map<String, String> env, String fallback) {
    String var = ENV.get(key);
    String fromEnv = var == null ? null : env.get(var);
    if (fromEnv != null) {
      return fromEnv;
    }
    return values.getOrDefault(key, fallback);
  }

  /**
   * The {@code engine} setting ({@code KRILL_ENGINE} over the file): one of {@link #ENGINES},
   * {@link #DEFAULT_ENGINE} when unset; anything else is an error saying what may be set.
   */
  public String engine(Map<String, String> env) {
    String engine = get("engine", env, DEFAULT_ENGINE).strip().toLowerCase(Locale.ROOT);
    if (!ENGINES.contains(engine)) {
      throw new IllegalArgumentException(
          "engine: unknown engine \""
              + get("engine", env, DEFAULT_ENGINE)
              + "\""
              + (path == null ? "" : " in " + path)
              + " or KRILL_ENGINE (set one of "
              + ENGINES
              + ")");
    }
    return engine;
  }

  /** A {@code [cri]} setting, if the file has it. */
  public Optional<String> cri(String key) {
    return Optional.ofNullable(values.get("cri." + key));
  }

  /** A {@code [cri]} array, empty if the file has none. */
  public List<String> criList(String key) {
    return lists.getOrDefault("cri." + key, List.of());
  }

  private static String scalar(JsonNode v, String what) {
    if (v.isTextual()) {
      return v.asText();
    }
    if (v.isNumber() || v.isBoolean()) {
      return v.asText();
    }
    throw new IllegalArgumentException(what + ": expected a quoted string or a number");
  }

  private static List<String> list(JsonNode v, String what) {
    if (!v.isArray()) {
      throw new IllegalArgumentException(
          what + ": expected an array of strings, e.g. [\"HOST:PORT\"]");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : v) {
      if (!e.isTextual()) {
        throw new IllegalArgumentException(
            what + ": expected an array of strings, e.g. [\"HOST:PORT\"]");
      }
      out.add(e.asText());
    }
    return out;
  }

  /**
   * {@code path:line: } of the line that sets {@code key} (or opens table {@code key}), else {@code
   * path: }.
   */
  private static String where(Path path, String text, String key) {
    Pattern p = Pattern.compile("^\\s*(\\[\\s*)?[\"']?" + Pattern.quote(key) + "[\"']?\\s*[=\\]]");
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (p.matcher(lines[i]).find()) {
        return path + ":" + (i + 1) + ": ";
      }
    }
    return path + ": ";
  }
}
