package io.krill.cri.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.krill.cri.pod.cni.CniConfList;
import io.krill.cri.pod.cni.CniError;
import io.krill.cri.pod.cni.CniNetwork;
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
 * Pod networks through CNI 1.0 plugins, as libcni drives them: a named network namespace per pod
 * ({@code ip netns add}, its loopback up), the conflist's plugins run in order for ADD (each given
 * the previous result), with the final result as {@code prevResult} for CHECK (in order) and DEL
 * (in reverse), and the pod's port mappings as {@code runtimeConfig.portMappings} for plugins that
 * declare that capability. The final ADD result is kept beside the pod so CHECK and DEL can be
 * given it after a restart. Teardown is best effort per step so a half-built network is still taken
 * down.
 */
public final class PodNetworks {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String IFNAME = "eth0";

  private final CniNetwork cni;
  private final Path stateDir;

  public PodNetworks(CniNetwork cni, Path stateDir) {
    this.cni = cni;
    this.stateDir = stateDir;
  }

  static String netnsName(String podId) {
    return "krill-" + podId.substring(0, 16);
  }

  static Path netnsPath(String podId) {
    return Path.of("/run/netns", netnsName(podId));
  }

  private Path resultFile(Pod pod) {
    return stateDir.resolve(pod.id() + ".cni-result");
  }

  /**
   * Creates the namespace and runs ADD; returns the pod IP. On failure everything done so far is
   * undone.
   */
  String setUp(Pod pod) {
    Optional<String> notReady = cni.notReadyBecause();
    if (notReady.isPresent()) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          pod.describe()
              + " needs a pod network, but "
              + notReady.get()
              + "; install a CNI config there or run the pod with host networking");
    }
    try {
      run(List.of("ip", "netns", "add", netnsName(pod.id())), null, Map.of());
      // Its loopback up, as containerd's loopback network does: localhost in the pod (a port
      // forward's target) reaches what listens there.
      run(List.of("ip", "-n", netnsName(pod.id()), "link", "set", "lo", "up"), null, Map.of());
      CniConfList list = config();
      JsonNode result = null;
      for (int i = 0; i < list.plugins().size(); i++) {
        result = JSON.readTree(invoke("ADD", pod, list, i, result));
      }
      Files.write(resultFile(pod), JSON.writeValueAsBytes(result));
      return ip(result)
          .orElseThrow(
              () ->
                  new IOException(
                      "the CNI result of network \""
                          + list.name()
                          + "\" has no IP address; check the IPAM section of "
                          + cni.config().orElseThrow()));
    } catch (IOException | RuntimeException e) {
      tearDown(pod);
      if (e instanceof KrillException k) {
        throw k;
      }
      throw new KrillException(
          ErrorCode.INTERNAL, pod.describe() + ": network setup failed: " + e.getMessage(), e);
    }
  }

  /**
   * Whether the network ADD built is still there, for a pod that was READY when the daemon last
   * stopped: empty if so, else why not. The namespace must exist and CHECK (CNI 0.4.0 and later,
   * unless the list says {@code disableCheck}) must pass every plugin.
   */
  Optional<String> check(Pod pod) {
    if (!Files.exists(netnsPath(pod.id()))) {
      return Optional.of("its network namespace " + netnsPath(pod.id()) + " is gone");
    }
    if (!Files.exists(resultFile(pod))) {
      return Optional.of("it has no saved CNI result (krill cri stopped during its RunPodSandbox)");
    }
    Optional<String> notReady = cni.notReadyBecause();
    if (notReady.isPresent()) {
      return Optional.of("its network cannot be checked: " + notReady.get());
    }
    try {
      CniConfList list = config();
      if (list.disableCheck() || !list.supportsCheck()) {
        LOG.log(
            Level.INFO,
            "{0}: CNI CHECK skipped: network \"{1}\" {2}",
            pod.describe(),
            list.name(),
            list.disableCheck()
                ? "sets disableCheck"
                : "is CNI " + list.cniVersion() + ", before CHECK existed");
        return Optional.empty();
      }
      JsonNode prev = JSON.readTree(resultFile(pod).toFile());
      for (int i = 0; i < list.plugins().size(); i++) {
        invoke("CHECK", pod, list, i, prev);
      }
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.of(e.getMessage());
    }
  }

  /**
   * After a restart: every pod that was READY with a network of its own is checked ({@link
   * #check}); one that fails is torn down and reported NOTREADY, so kubelet replaces the sandbox
   * rather than trusting a network that is no longer there.
   */
  public void recheck(PodStore pods) {
    for (Pod pod : pods.list()) {
      if (!pod.ready() || pod.hostNetwork()) {
        continue;
      }
      Optional<String> failed = check(pod);
      if (failed.isPresent()) {
        LOG.log(
            Level.WARNING,
            "{0} was ready before krill cri restarted, but {1}; it is now NOTREADY and its"
                + " network is torn down (kubelet creates a new sandbox; with crictl: crictl rmp, then runp again)",
            pod.describe(),
            failed.get());
        tearDown(pod);
        pods.put(pod.stopped());
      }
    }
  }

  /**
   * DEL through every plugin (reverse order), then the namespace; each step runs even if one before
   * failed.
   */
  void tearDown(Pod pod) {
    Path saved = resultFile(pod);
    try {
      JsonNode prev = Files.exists(saved) ? JSON.readTree(saved.toFile()) : null;
      CniConfList list = config();
      for (int i = list.plugins().size() - 1; i >= 0; i--) {
        try {
          invoke("DEL", pod, list, i, prev);
        } catch (IOException | RuntimeException e) {
          LOG.log(Level.WARNING, "{0}: {1}", pod.describe(), e.getMessage());
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "{0}: CNI teardown: {1}", pod.describe(), e.getMessage());
    }
    if (Files.exists(netnsPath(pod.id()))) {
      try {
        run(List.of("ip", "netns", "delete", netnsName(pod.id())), null, Map.of());
      } catch (IOException | RuntimeException e) {
        LOG.log(
            Level.WARNING,
            "{0}: cannot delete its network namespace: {1}",
            pod.describe(),
            e.getMessage());
      }
    }
    try {
      Files.deleteIfExists(saved);
    } catch (IOException ignored) {
      // removed with the pod's state
    }
  }

  private CniConfList config() throws IOException {
    return CniConfList.read(
        cni.config().orElseThrow(() -> new IOException("no CNI config in " + cni.confDir())));
  }

  /** containerd's rule: only mappings with a host port reach the plugins. */
  static Map<String, JsonNode> capabilityArgs(Pod pod) {
    ArrayNode maps = JSON.createArrayNode();
    for (Pod.PortMapping m : pod.portMappings()) {
      if (m.hostPort() <= 0) {
        continue;
      }
      ObjectNode o =
          maps.addObject()
              .put("hostPort", m.hostPort())
              .put("containerPort", m.containerPort())
              .put("protocol", m.protocol());
      if (!m.hostIP().isEmpty()) {
        o.put("hostIP", m.hostIP());
      }
    }
    return maps.isEmpty() ? Map.of() : Map.of("portMappings", maps);
  }

  private String invoke(String command, Pod pod, CniConfList list, int index, JsonNode prevResult)
      throws IOException {
    String type = list.type(index);
    ObjectNode stdin = list.pluginConfig(index, prevResult, capabilityArgs(pod));
    Map<String, String> env =
        Map.of(
            "CNI_COMMAND",
            command,
            "CNI_CONTAINERID",
            pod.id(),
            "CNI_NETNS",
            netnsPath(pod.id()).toString(),
            "CNI_IFNAME",
            IFNAME,
            "CNI_PATH",
            cni.binDir().toString(),
            "CNI_ARGS",
            "IgnoreUnknown=1;K8S_POD_NAMESPACE="
                + pod.namespace()
                + ";K8S_POD_NAME="
                + pod.name()
                + ";K8S_POD_INFRA_CONTAINER_ID="
                + pod.id()
                + ";K8S_POD_UID="
                + pod.uid());
    try {
      return run(
          List.of(cni.binDir().resolve(type).toString()), JSON.writeValueAsBytes(stdin), env);
    } catch (IOException e) {
      throw new IOException(
          "CNI "
              + command
              + " of plugin \""
              + type
              + "\" in network \""
              + list.name()
              + "\" failed: "
              + e.getMessage(),
          e);
    }
  }

  /** stdout of {@code cmd}; a failure's message is the CNI error it printed, else its stderr. */
  private static String run(List<String> cmd, byte[] stdin, Map<String, String> env)
      throws IOException {
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
      String stderr = new String(err, StandardCharsets.UTF_8).strip();
      throw new IOException(
          CniError.parse(text)
              .map(CniError::text)
              .orElseGet(
                  () ->
                      String.join(" ", cmd)
                          + " exited "
                          + p.exitValue()
                          + ": "
                          + (stderr.isEmpty() ? text.strip() : stderr)));
    }
    return text;
  }

  /**
   * The first IPv4 address of the result (CNI 1.0 {@code ips[].address} is CIDR notation), else the
   * first.
   */
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
