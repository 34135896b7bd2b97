package io.krill.runtime;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.krill.os.RootfsPath;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An image's {@code /krill.toml}: its {@code [wagi]} table makes the container an HTTP app in the
 * instance-per-request shape, as the annotation {@value RequestServers#ANNOTATION} does. The file's
 * keys become the annotations they stand for, and the container's own annotations win key by key
 * ({@value RequestServers#ROUTES_ANNOTATION} replaces the file's routes as a whole). Read at Create
 * from the container's root filesystem, symlinks resolved as the guest sees them (never out of it),
 * at most {@value #MAX_BYTES} bytes; a malformed file refuses the create, naming the container, the
 * file and the key or line.
 *
 * <pre>
 * [wagi]
 * listen = "tcp://0.0.0.0:8080"   # the default
 * timeout = "30s"
 * concurrency = 16
 * max-body = "10Mi"
 * read-timeout = "10s"
 * [[wagi.route]]
 * path = "/api/..."
 * module = "/api.wasm"
 * </pre>
 */
final class KrillToml {
  static final String PATH = "/krill.toml";
  static final int MAX_BYTES = 64 << 10;
  static final String DEFAULT_LISTEN = "tcp://0.0.0.0:8080";

  /** Where a setting of the file is said to be in messages. */
  static final String WHERE = PATH + " in its image";

  /** Built by the first image that has the file, not on every daemon's first Create. */
  private static final class Parser {
    static final TomlMapper TOML = new TomlMapper();
  }

  /** The {@code [wagi]} keys and the annotation each stands for ({@code route}: the routes). */
  private static final Map<String, String> KEYS = new LinkedHashMap<>();

  static {
    KEYS.put("listen", RequestServers.ANNOTATION);
    KEYS.put("timeout", RequestServers.TIMEOUT_ANNOTATION);
    KEYS.put("concurrency", RequestServers.CONCURRENCY_ANNOTATION);
    KEYS.put("max-body", RequestServers.MAX_BODY_ANNOTATION);
    KEYS.put("read-timeout", RequestServers.READ_TIMEOUT_ANNOTATION);
    KEYS.put("route", RequestServers.ROUTES_ANNOTATION);
  }

  private KrillToml() {}

  /**
   * A container's instance-per-request settings as annotations: its own annotations over its
   * image's {@code [wagi]} table; {@code fromFile} lists the annotations the file gave.
   */
  record Served(Map<String, String> annotations, Set<String> fromFile) {
    Served {
      annotations = Map.copyOf(annotations);
      fromFile = Set.copyOf(fromFile);
    }

    boolean isWagi() {
      return annotations.containsKey(RequestServers.ANNOTATION);
    }

    /** Where the value of this annotation came from, for messages. */
    String source(String annotation) {
      if (!fromFile.contains(annotation)) {
        return "annotation " + annotation;
      }
      for (Map.Entry<String, String> k : KEYS.entrySet()) {
        if (k.getValue().equals(annotation)) {
          return "key wagi." + k.getKey() + " of " + WHERE;
        }
      }
      return WHERE;
    }
  }

  /**
   * The container's settings: its annotations as they are without a {@code [wagi]} table in its
   * image, else merged with the file's, each route's module checked to be a file in the image.
   */
  static Served served(String id, Map<String, String> annotations, Path rootfs) {
    Optional<String> text = read(id, rootfs);
    Optional<Map<String, String>> file = text.isEmpty() ? Optional.empty() : parse(id, text.get());
    if (file.isEmpty()) {
      return new Served(annotations, Set.of());
    }
    Map<String, String> merged = new HashMap<>(annotations);
    Set<String> fromFile = new LinkedHashSet<>();
    for (Map.Entry<String, String> e : file.get().entrySet()) {
      if (!annotations.containsKey(e.getKey())) {
        merged.put(e.getKey(), e.getValue());
        fromFile.add(e.getKey());
      }
    }
    if (!merged.containsKey(RequestServers.ANNOTATION)) {
      merged.put(RequestServers.ANNOTATION, DEFAULT_LISTEN);
      fromFile.add(RequestServers.ANNOTATION);
    }
    if (fromFile.contains(RequestServers.ROUTES_ANNOTATION)) {
      checkModules(id, merged.get(RequestServers.ROUTES_ANNOTATION), rootfs);
    }
    return new Served(merged, fromFile);
  }

  /** The file's text, empty when the image has none. */
  static Optional<String> read(String id, Path rootfs) {
    Path host;
    try {
      host = RootfsPath.resolve(rootfs, PATH);
    } catch (IOException e) {
      throw refuse(id, "cannot be read (" + e.getMessage() + ")", "fix or remove it");
    }
    if (!Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    if (!Files.isRegularFile(host, LinkOption.NOFOLLOW_LINKS)) {
      throw refuse(id, "is not a regular file", "make it a TOML file or remove it");
    }
    byte[] bytes;
    try (InputStream in =
        Channels.newInputStream(
            Files.newByteChannel(host, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    } catch (IOException e) {
      throw refuse(id, "cannot be read (" + e.getMessage() + ")", "fix or remove it");
    }
    if (bytes.length > MAX_BYTES) {
      throw refuse(
          id, "is larger than krill's limit of " + (MAX_BYTES >> 10) + " KiB", "make it smaller");
    }
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(java.nio.ByteBuffer.wrap(bytes))
              .toString());
    } catch (CharacterCodingException e) {
      throw refuse(id, "is not UTF-8 text", "write it as UTF-8, as TOML requires");
    }
  }

  /**
   * The {@code [wagi]} table as the annotations it stands for (routes in the form of {@value
   * RequestServers#ROUTES_ANNOTATION}); empty without the table. Every value is checked here, so a
   * setting the file gives is never refused later as if it were an annotation.
   */
  static Optional<Map<String, String>> parse(String id, String text) {
    JsonNode doc;
    try {
      doc = Parser.TOML.readTree(text);
    } catch (JacksonException e) {
      throw refuse(
          id,
          "is not valid TOML"
              + (e.getLocation() == null || e.getLocation().getLineNr() < 1
                  ? ""
                  : " (line " + e.getLocation().getLineNr() + ")")
              + ": "
              + e.getOriginalMessage(),
          "fix the file in the image");
    }
    if (doc == null || doc.isMissingNode() || doc.isNull()) {
      return Optional.empty();
    }
    for (Iterator<String> it = doc.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!key.equals("wagi")) {
        throw refuse(
            id, "has an unknown key " + key, "krill reads only the table [wagi]; remove " + key);
      }
    }
    JsonNode wagi = doc.get("wagi");
    if (wagi == null) {
      return Optional.empty();
    }
    if (!wagi.isObject()) {
      throw refuse(id, "has wagi as a value", "make it a table, [wagi]");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = wagi.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      JsonNode v = e.getValue();
      String annotation = KEYS.get(key);
      if (annotation == null) {
        throw refuse(
            id,
            "has an unknown key wagi." + key,
            "use only " + String.join(", ", KEYS.keySet()) + " in [wagi]");
      }
      switch (key) {
        case "listen" ->
            out.put(
                annotation, string(id, key, v, "an address such as \"" + DEFAULT_LISTEN + "\""));
        case "timeout", "read-timeout" -> {
          String s = string(id, key, v, RequestServers.DURATION_FORM + " in quotes");
          if (RequestServers.durationMillis(s) < 0) {
            throw badValue(id, "wagi." + key, s, RequestServers.DURATION_FORM);
          }
          out.put(annotation, s.trim());
        }
        case "concurrency" -> {
          if (!v.isIntegralNumber()
              || v.asLong() < 1
              || v.asLong() > RequestServers.MAX_CONCURRENCY) {
            throw refuse(
                id,
                "has wagi.concurrency = " + v,
                "write it as a number from 1 to " + RequestServers.MAX_CONCURRENCY + ", unquoted");
          }
          out.put(annotation, Long.toString(v.asLong()));
        }
        case "max-body" -> {
          String s =
              v.isIntegralNumber() ? v.asText() : string(id, key, v, RequestServers.SIZE_FORM);
          if (RequestServers.sizeBytes(s) < 0) {
            throw badValue(id, "wagi." + key, s, RequestServers.SIZE_FORM);
          }
          out.put(annotation, s.trim());
        }
        default -> out.put(annotation, routes(id, v));
      }
    }
    return Optional.of(out);
  }

  /** {@code [[wagi.route]]} tables as {@code ROUTE=MODULE,...}. */
  private static String routes(String id, JsonNode v) {
    String form =
        "an array of tables, each [[wagi.route]] with path = \"/...\" and module = \"/app.wasm\"";
    if (!v.isArray() || v.isEmpty()) {
      throw refuse(id, "has wagi.route as " + kind(v), "write it as " + form);
    }
    Map<String, String> routes = new LinkedHashMap<>();
    int n = 0;
    for (JsonNode r : v) {
      n++;
      String at = "wagi.route[" + n + "]";
      if (!r.isObject()) {
        throw refuse(id, "has " + at + " as " + kind(r), "write it as " + form);
      }
      for (Iterator<String> it = r.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        if (!key.equals("path") && !key.equals("module")) {
          throw refuse(id, "has an unknown key " + at + "." + key, "use only path and module");
        }
      }
      String path = required(id, at, r, "path", "\"/api/...\"");
      String module = required(id, at, r, "module", "\"/api.wasm\"");
      if (!path.startsWith("/") || path.contains(",") || path.contains("=")) {
        throw badValue(
            id,
            at + ".path",
            path,
            "a path starting with /, without , or =: /path, or /path/... for it and everything below");
      }
      if (!module.startsWith("/") || module.contains(",")) {
        throw badValue(
            id,
            at + ".module",
            module,
            "the absolute path of a .wasm file in the image, without ,");
      }
      if (routes.containsKey(path)) {
        throw refuse(
            id, "has the route path " + path + " twice (" + at + ")", "give each path once");
      }
      routes.put(path, module);
    }
    StringBuilder b = new StringBuilder();
    routes.forEach((p, m) -> b.append(b.length() == 0 ? "" : ",").append(p).append('=').append(m));
    return b.toString();
  }

  /** Each route's module is a file in the rootfs (resolved as the guest sees it). */
  private static void checkModules(String id, String routes, Path rootfs) {
    int n = 0;
    for (String item : routes.split(",")) {
      n++;
      String module = item.substring(item.indexOf('=') + 1);
      boolean file;
      try {
        file = Files.isRegularFile(RootfsPath.resolve(rootfs, module));
      } catch (IOException e) {
        file = false;
      }
      if (!file) {
        throw refuse(
            id,
            "has wagi.route["
                + n
                + "].module = \""
                + module
                + "\", which is not a file in the image",
            "put the module into the image or point module at one that is there");
      }
    }
  }

  private static String required(String id, String at, JsonNode r, String key, String example) {
    JsonNode v = r.get(key);
    if (v == null) {
      throw refuse(id, "has " + at + " without " + key, "add " + key + " = " + example);
    }
    if (!v.isTextual()) {
      throw refuse(
          id, "has " + at + "." + key + " as " + kind(v), "write it as a string, " + example);
    }
    return v.asText();
  }

  private static String string(String id, String key, JsonNode v, String what) {
    if (!v.isTextual()) {
      throw refuse(id, "has wagi." + key + " as " + kind(v), "write it as " + what);
    }
    return v.asText();
  }

  private static String kind(JsonNode v) {
    if (v.isTextual()) {
      return "a string";
    }
    if (v.isIntegralNumber()) {
      return "an integer (" + v + ")";
    }
    if (v.isNumber()) {
      return "a number (" + v + ")";
    }
    if (v.isBoolean()) {
      return "a boolean (" + v + ")";
    }
    if (v.isArray()) {
      return "an array";
    }
    if (v.isObject()) {
      return "a table";
    }
    return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static KrillException badValue(String id, String key, String value, String form) {
    return refuse(id, "has " + key + " = \"" + value + "\"", "write it as " + form);
  }

  private static KrillException refuse(String id, String what, String fix) {
    return ModuleLoader.invalid(id, WHERE + " " + what + ": " + fix);
  }
}
