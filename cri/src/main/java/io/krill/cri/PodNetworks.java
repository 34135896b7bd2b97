package io.krill.cri;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Pod networks through CNI 1.0 plugins: a named network namespace per pod ({@code ip netns add}), the
 * conflist's plugins run in order for ADD (each given the previous result) and in reverse for DEL, and the
 * pod IP taken from the final result. The last ADD result is kept beside the pod so DEL can be given it
 * after a restart. Teardown is best effort per step so a half-built network is still taken down.
 */
final class PodNetworks {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String IFNAME = "eth0";

  private final CniNetwork cni;
  private final Path stateDir;

  PodNetworks(CniNetwork cni, Path stateDir) {
    this.cni = cni;
    this.stateDir = stateDir;
  }

  static String netnsName(String podId) {
    return "krill-" + podId.substring(0, 16);
  }

  static Path netnsPath(String podId) {
    return Path.of("/run/netns", netnsName(podId));
  }

  /** Creates the namespace and runs ADD; returns the pod IP. On failure everything done so far is undone. */
  String setUp(Pod pod) {
    Optional<String> notReady = cni.notReadyBecause();
    if (notReady.isPresent()) {
      throw new KrillException(ErrorCode.FAILED_PRECONDITION, "pod " + pod.namespace() + "/" + pod.name()
          + " needs a pod network, but " + notReady.get());
    }
    try {
      run(List.of("ip", "netns", "add", netnsName(pod.id())), null, Map.of());
      JsonNode result = null;
      List<ObjectNode> plugins = plugins();
      for (ObjectNode plugin : plugins) {
        if (result != null) {
          plugin.set("prevResult", result);
        }
        result = JSON.readTree(invoke("ADD", pod, plugin));
      }
      Files.write(stateDir.resolve(pod.id() + ".cni-result"), JSON.writeValueAsBytes(result));
      return ip(result).orElseThrow(() -> new KrillException(ErrorCode.INTERNAL,
          "pod " + pod.id() + ": the CNI result has no IP address"));
    } catch (IOException | RuntimeException e) {
      tearDown(pod);
      if (e instanceof KrillException k) {
        throw k;
      }
      throw new KrillException(ErrorCode.INTERNAL, "pod " + pod.namespace() + "/" + pod.name()
          + ": network setup failed: " + e.getMessage(), e);
    }
  }

  /** DEL through every plugin (reverse order), then the namespace; each step runs even if one before failed. */
  void tearDown(Pod pod) {
    Path saved = stateDir.resolve(pod.id() + ".cni-result");
    try {
      JsonNode prev = Files.exists(saved) ? JSON.readTree(saved.toFile()) : null;
      List<ObjectNode> plugins = plugins();
      for (int i = plugins.size() - 1; i >= 0; i--) {
        ObjectNode plugin = plugins.get(i);
        if (prev != null) {
          plugin.set("prevResult", prev);
        }
        try {
          invoke("DEL", pod, plugin);
        } catch (IOException | RuntimeException e) {
          LOG.log(Level.WARNING, "pod {0}: CNI DEL {1}: {2}", pod.id(), plugin.path("type").asText(), e.getMessage());
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "pod {0}: CNI teardown: {1}", pod.id(), e.getMessage());
    }
    if (Files.exists(netnsPath(pod.id()))) {
      try {
        run(List.of("ip", "netns", "delete", netnsName(pod.id())), null, Map.of());
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "pod {0}: cannot delete its network namespace: {1}", pod.id(), e.getMessage());
      }
    }
    try {
      Files.deleteIfExists(saved);
    } catch (IOException ignored) {
      // removed with the pod's state
    }
  }

  /** The plugins of the config file, each completed with the network's name and CNI version. */
  private List<ObjectNode> plugins() throws IOException {
    Path file = cni.config().orElseThrow(() -> new IOException("no CNI config in " + cni.confDir()));
    JsonNode conf = JSON.readTree(file.toFile());
    List<ObjectNode> out = new ArrayList<>();
    if (conf.has("plugins")) {
      for (JsonNode p : (ArrayNode) conf.get("plugins")) {
        ObjectNode copy = ((ObjectNode) p).deepCopy();
        copy.put("name", conf.path("name").asText());
        copy.put("cniVersion", conf.path("cniVersion").asText("1.0.0"));
        out.add(copy);
      }
    } else {
      out.add(((ObjectNode) conf).deepCopy());
    }
    return out;
  }

  private String invoke(String command, Pod pod, ObjectNode plugin) throws IOException {
    String type = plugin.path("type").asText();
    if (type.isEmpty() || type.contains("/")) {
      throw new IOException("CNI plugin type \"" + type + "\" is not a plugin name");
    }
    Path binary = cni.binDir().resolve(type);
    Map<String, String> env = Map.of(
        "CNI_COMMAND", command,
        "CNI_CONTAINERID", pod.id(),
        "CNI_NETNS", netnsPath(pod.id()).toString(),
        "CNI_IFNAME", IFNAME,
        "CNI_PATH", cni.binDir().toString(),
        "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.namespace() + ";K8S_POD_NAME=" + pod.name()
            + ";K8S_POD_INFRA_CONTAINER_ID=" + pod.id() + ";K8S_POD_UID=" + pod.uid());
    return run(List.of(binary.toString()), JSON.writeValueAsBytes(plugin), env);
  }

  private static String run(List<String> cmd, byte[] stdin, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE);
    pb.environment().putAll(env);
    Process p = pb.start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish within 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + cmd.get(0), e);
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      // A CNI error is JSON on stdout ({code, msg, details}); other tools write to stderr.
      throw new IOException(String.join(" ", cmd) + " " + env.getOrDefault("CNI_COMMAND", "") + " failed: "
          + (text.isBlank() ? new String(err, StandardCharsets.UTF_8) : text).strip());
    }
    return text;
  }

  /** The first IPv4 address of the result (CNI 1.0 {@code ips[].address} is CIDR notation), else the first. */
  static Optional<String> ip(JsonNode result) {
    List<String> all = new ArrayList<>();
    for (JsonNode ip : result.path("ips")) {
      String a = ip.path("address").asText();
      if (!a.isEmpty()) {
        all.add(a.contains("/") ? a.substring(0, a.indexOf('/')) : a);
      }
    }
    return all.stream().filter(a -> a.contains(".")).findFirst().or(() -> all.stream().findFirst());
  }
}
