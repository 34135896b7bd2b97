package io.krill.cri.pod.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A CNI network configuration list as libcni reads it: the network's name and version, {@code
 * disableCheck}, and its plugins in order. A single-plugin {@code .conf} file is a list of one.
 * Plugins are kept as JSON so every key the operator wrote reaches the plugin untouched.
 */
public record CniConfList(
    String name, String cniVersion, boolean disableCheck, List<ObjectNode> plugins) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public CniConfList {
    plugins = List.copyOf(plugins);
  }

  public static CniConfList read(Path file) throws IOException {
    JsonNode conf = JSON.readTree(file.toFile());
    if (conf == null || !conf.isObject()) {
      throw new IOException("CNI config " + file + " is not a JSON object");
    }
    String name = conf.path("name").asText();
    String version = conf.path("cniVersion").asText("1.0.0");
    List<ObjectNode> plugins = new ArrayList<>();
    if (conf.has("plugins")) {
      for (JsonNode p : conf.get("plugins")) {
        if (!p.isObject()) {
          throw new IOException(
              "CNI config " + file + ": every entry of \"plugins\" must be an object");
        }
        plugins.add((ObjectNode) p);
      }
    } else {
      plugins.add((ObjectNode) conf);
    }
    if (plugins.isEmpty()) {
      throw new IOException("CNI config " + file + " has no plugins");
    }
    // libcni takes the boolean and, since 1.1, the strings "true"/"false".
    JsonNode dc = conf.path("disableCheck");
    boolean disableCheck = dc.isBoolean() ? dc.asBoolean() : "true".equalsIgnoreCase(dc.asText());
    return new CniConfList(name, version, disableCheck, plugins);
  }

  /** CHECK exists from CNI spec 0.4.0 on; libcni refuses it for older lists. */
  public boolean supportsCheck() {
    String[] parts = cniVersion.split("\\.");
    try {
      int major = Integer.parseInt(parts[0]);
      int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      return major > 0 || minor >= 4;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /**
   * What plugin {@code index} reads on stdin, as libcni builds it: the plugin's own keys, the
   * list's name and version, {@code prevResult} when there is one, and {@code runtimeConfig}
   * holding the runtime's arguments for exactly the capabilities the plugin declares ({@code
   * "capabilities": {"portMappings": true}}).
   */
  public ObjectNode pluginConfig(
      int index, JsonNode prevResult, Map<String, JsonNode> capabilityArgs) {
    ObjectNode copy = plugins.get(index).deepCopy();
    copy.put("name", name);
    copy.put("cniVersion", cniVersion);
    if (prevResult != null) {
      copy.set("prevResult", prevResult);
    }
    ObjectNode runtimeConfig = JSON.createObjectNode();
    JsonNode caps = copy.path("capabilities");
    capabilityArgs.forEach(
        (capability, value) -> {
          if (caps.path(capability).asBoolean(false)) {
            runtimeConfig.set(capability, value);
          }
        });
    if (!runtimeConfig.isEmpty()) {
      copy.set("runtimeConfig", runtimeConfig);
    }
    return copy;
  }

  /** The plugin's binary name, refused when it could name a file outside the plugin directory. */
  public String type(int index) throws IOException {
    String type = plugins.get(index).path("type").asText();
    if (type.isEmpty() || type.contains("/") || type.equals(".") || type.equals("..")) {
      throw new IOException(
          "CNI plugin type \"" + type + "\" in network \"" + name + "\" is not a plugin name");
    }
    return type;
  }
}
