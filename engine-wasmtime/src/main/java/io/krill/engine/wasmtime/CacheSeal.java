package io.krill.engine.wasmtime;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What krill writes beside each compiled-module artifact it keeps: the entry's key, the artifact's
 * size and SHA-256, and where Wasmtime looks the artifact up in a cache directory of its own. An
 * artifact is used only if it matches its seal and the seal matches the key asked for.
 *
 * <pre>
 * krill-module-cache 1
 * key 3f1c…            (hex SHA-256 of the wasm's digest, the engine and its settings)
 * size 48213
 * sha256 9ab0…
 * wasmtime-path modules/wasmtime-7.0.1/Yq9…
 * </pre>
 */
record CacheSeal(String key, long size, String sha256, String wasmtimePath) {
  static final String HEADER = "krill-module-cache 1";
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  // Wasmtime's layout: modules/<compiler and version>/<url-safe base64 hash of module and engine>.
  private static final Pattern WASMTIME_PATH =
      Pattern.compile("modules/[A-Za-z0-9][A-Za-z0-9._+-]{0,127}/[A-Za-z0-9_-]{1,128}");

  static boolean isWasmtimePath(String path) {
    return WASMTIME_PATH.matcher(path).matches();
  }

  CacheSeal {
    if (!HEX64.matcher(key).matches()) {
      throw new IllegalArgumentException("key is not a hex SHA-256: " + key);
    }
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive: " + size);
    }
    if (!HEX64.matcher(sha256).matches()) {
      throw new IllegalArgumentException("sha256 is not a hex SHA-256: " + sha256);
    }
    if (!WASMTIME_PATH.matcher(wasmtimePath).matches()) {
      throw new IllegalArgumentException("not a Wasmtime cache path: " + wasmtimePath);
    }
  }

  String format() {
    return HEADER
        + "\nkey "
        + key
        + "\nsize "
        + size
        + "\nsha256 "
        + sha256
        + "\nwasmtime-path "
        + wasmtimePath
        + "\n";
  }

  /**
   * @throws IllegalArgumentException naming what is wrong, for any text {@link #format} did not
   *     write
   */
  static CacheSeal parse(String text) {
    String[] lines = text.split("\n", -1);
    if (lines.length < 1 || !lines[0].equals(HEADER)) {
      throw new IllegalArgumentException("not a krill module cache seal");
    }
    Map<String, String> fields = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      if (lines[i].isEmpty() && i == lines.length - 1) {
        break;
      }
      int sp = lines[i].indexOf(' ');
      if (sp <= 0 || fields.put(lines[i].substring(0, sp), lines[i].substring(sp + 1)) != null) {
        throw new IllegalArgumentException("malformed line " + (i + 1));
      }
    }
    if (!fields.keySet().equals(java.util.Set.of("key", "size", "sha256", "wasmtime-path"))) {
      throw new IllegalArgumentException("fields " + fields.keySet() + " are not a seal's");
    }
    long size;
    try {
      size = Long.parseLong(fields.get("size"));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size is not a number: " + fields.get("size"));
    }
    return new CacheSeal(
        fields.get("key"), size, fields.get("sha256"), fields.get("wasmtime-path"));
  }
}
