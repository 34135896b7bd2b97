package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.LinuxSandboxSecurityContext;
import io.krill.cri.api.v1.NamespaceMode;
import io.krill.cri.api.v1.NamespaceOption;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PortMapping;
import io.krill.cri.api.v1.Protocol;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.Pod;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A wasm server reached at a port of the node, through containerd's CRI plugin, the two ways a
 * Kubernetes pod gets one:
 *
 * <ul>
 *   <li>a {@code hostPort}: kubelet puts it in the sandbox config's port mappings, containerd hands
 *       them to the CNI plugins that declare the {@code portMappings} capability, and {@code
 *       portmap} (chained after {@code bridge} in this class's own conflist) DNATs the node's
 *       addresses at that port to the pod IP, where krill listens in the pod's network namespace;
 *       removing the pod removes the rules;
 *   <li>a host-network pod ({@code hostNetwork: true}, network namespace NODE): no CNI; its
 *       containers' specs name the sandbox process's network namespace, which is the node's, so
 *       krill listens on the node's addresses.
 * </ul>
 *
 * Each for a listening guest ({@code krill.io/listen}) and an instance per request ({@code
 * krill.io/wagi}).
 */
class CriPortMappingE2ETest {
  private static final int CONTAINER_PORT = 8080;

  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCriPortmap();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void hostPort_listeningGuest_answersAtTheNodeIp_goneAfterRemovePodSandbox(ContainerdVersion v)
      throws Exception {
    CriContainerd c = cris.get(v);
    int hostPort = freePort(36000);
    Pod pod =
        runPod(
            c,
            podConfig(c, "hostport-listen").toBuilder()
                .putAnnotations("krill.io/listen", "tcp://0.0.0.0:" + CONTAINER_PORT)
                .addPortMappings(mapping(hostPort))
                .build(),
            CriConfig.HANDLER);
    String id = startWeb(c, pod, "/serve.wasm", null, null);
    String ip = podIp(c, pod);
    assertDnat(hostPort, ip, true);

    Curl r = curl(uri(nodeIp(), hostPort, "/"), Duration.ofSeconds(30));
    assertEquals(200, r.status(), r.body());
    assertEquals("hello\n", r.body());
    // the node's loopback too: portmap marks such connections for masquerade and lets the
    // bridge route them (route_localnet)
    r = curl(uri("127.0.0.1", hostPort, "/"), Duration.ofSeconds(5));
    assertEquals("hello\n", r.body());
    // and another machine, whose connections come in through PREROUTING and are forwarded
    try (OtherMachine other = OtherMachine.start()) {
      r = curl(other.exec(), uri(nodeIp(), hostPort, "/"), Duration.ofSeconds(10));
      assertEquals(200, r.status(), r.body());
      assertEquals("hello\n", r.body());
    }

    int exit = stop(c, id).getExitCode();
    assertTrue(exit == SIGTERM_EXIT || exit == SIGKILL_EXIT, "exit " + exit);
    // the mapping outlives the guest, not the pod: CNI DEL at StopPodSandbox removes it
    assertDnat(hostPort, ip, true);
    assertRefused(nodeIp(), hostPort);
    call(
        c,
        "StopPodSandbox",
        () ->
            c.cri()
                .runtime()
                .stopPodSandbox(
                    StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build()));
    assertDnat(hostPort, ip, false);
    teardown(c, pod, id);
    assertDnat(hostPort, ip, false);
    assertRefused(nodeIp(), hostPort);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void hostPort_wagiContainer_answersAtTheNodeIp_goneAfterRemovePodSandbox(ContainerdVersion v)
      throws Exception {
    CriContainerd c = cris.get(v);
    int hostPort = freePort(36000);
    Pod pod =
        runPod(
            c,
            podConfig(c, "hostport-wagi").toBuilder().addPortMappings(mapping(hostPort)).build(),
            CriConfig.HANDLER);
    String id = startWeb(c, pod, "/wagi.wasm", "krill.io/wagi", "tcp://0.0.0.0:" + CONTAINER_PORT);
    String ip = podIp(c, pod);
    assertDnat(hostPort, ip, true);

    Curl r = curl(uri(nodeIp(), hostPort, "/echo?x=1"), Duration.ofSeconds(30));
    assertEquals(200, r.status(), r.body());
    assertTrue(r.body().contains("path=/echo\nquery=x=1\n"), r.body());
    assertEquals(500, curl(uri(nodeIp(), hostPort, "/trap"), Duration.ZERO).status());
    assertEquals(200, curl(uri(nodeIp(), hostPort, "/echo"), Duration.ZERO).status());

    assertEquals(143, stop(c, id).getExitCode());
    teardown(c, pod, id);
    assertDnat(hostPort, ip, false);
    assertRefused(nodeIp(), hostPort);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void hostNetwork_listeningGuest_answersOnTheNodeLoopback_portFreeAfterStop(ContainerdVersion v)
      throws Exception {
    CriContainerd c = cris.get(v);
    int port = freePort(38000);
    Pod pod = runPod(c, hostNetwork(podConfig(c, "hostnet-listen")), CriConfig.HANDLER);
    String id = startWeb(c, pod, "/serve.wasm", "krill.io/listen", "tcp://127.0.0.1:" + port);

    Curl r = curl(uri("127.0.0.1", port, "/"), Duration.ofSeconds(30));
    assertEquals(200, r.status(), r.body());
    assertEquals("hello\n", r.body());
    // bound to the loopback address it names, not to every address of the node
    assertRefused(nodeIp(), port);
    // the node's port is taken: a second container asking for it is refused when containerd
    // creates its task (StartContainer), naming the address
    String second =
        create(
            c,
            pod,
            containerConfig("web2", pull(c, c.push(CriContainerd.Image.PROGS)), "/serve.wasm")
                .putAnnotations("krill.io/listen", "tcp://127.0.0.1:" + port));
    StatusRuntimeException taken =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                c.cri()
                    .runtime()
                    .startContainer(
                        StartContainerRequest.newBuilder().setContainerId(second).build()));
    // containerd names the sandbox process's network namespace in the spec, the node's here
    String why = taken.getStatus().getDescription();
    assertTrue(
        why.matches(
            "(?s).*container "
                + second
                + ": cannot listen on tcp://127\\.0\\.0\\.1:"
                + port
                + " in network namespace /proc/[0-9]+/ns/net \\(annotation krill\\.io/listen\\):"
                + " Address already in use; free the port or pick another address in the"
                + " annotation.*"),
        taken.getStatus().toString());
    assertEquals("hello\n", curl(uri("127.0.0.1", port, "/"), Duration.ZERO).body());

    int exit = stop(c, id).getExitCode();
    assertTrue(exit == SIGTERM_EXIT || exit == SIGKILL_EXIT, "exit " + exit);
    assertPortFree(port);
    teardown(c, pod, id, second);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void hostNetwork_wagiContainer_answersOnTheNodeLoopback_portFreeAfterStop(ContainerdVersion v)
      throws Exception {
    CriContainerd c = cris.get(v);
    int port = freePort(38000);
    Pod pod = runPod(c, hostNetwork(podConfig(c, "hostnet-wagi")), CriConfig.HANDLER);
    String id = startWeb(c, pod, "/wagi.wasm", "krill.io/wagi", "tcp://127.0.0.1:" + port);

    Curl r = curl(uri("127.0.0.1", port, "/echo?x=1"), Duration.ofSeconds(30));
    assertEquals(200, r.status(), r.body());
    assertTrue(r.body().contains("path=/echo\nquery=x=1\n"), r.body());

    assertEquals(143, stop(c, id).getExitCode());
    assertPortFree(port);
    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /**
   * Container {@code web} of the progs image running {@code module}, with the annotation {@code
   * key: value} unless the key is null (the pod's annotation then applies).
   */
  private static String startWeb(
      CriContainerd c, Pod pod, String module, String key, String value) {
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    var config = containerConfig("web", ref, module);
    String id = createAndStart(c, pod, key == null ? config : config.putAnnotations(key, value));
    awaitRunning(c, id);
    return id;
  }

  private static PortMapping mapping(int hostPort) {
    return PortMapping.newBuilder()
        .setProtocol(Protocol.TCP)
        .setContainerPort(CONTAINER_PORT)
        .setHostPort(hostPort)
        .build();
  }

  /** What kubelet sends for {@code hostNetwork: true}. */
  private static PodSandboxConfig hostNetwork(PodSandboxConfig cfg) {
    return cfg.toBuilder()
        .setLinux(
            LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(
                    LinuxSandboxSecurityContext.newBuilder()
                        .setNamespaceOptions(
                            NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE))))
        .build();
  }

  /** StopContainer as kubelet sends it (10 s grace period), then its exit. */
  private static ContainerStatus stop(CriContainerd c, String id) {
    call(
        c,
        "StopContainer",
        () ->
            c.cri()
                .runtime()
                .stopContainer(
                    StopContainerRequest.newBuilder().setContainerId(id).setTimeout(10).build()));
    return awaitExited(c, id);
  }

  /**
   * The node's own address outside the pods: the first IPv4 address of an interface that is up, not
   * the loopback and no CNI bridge or veth.
   */
  private static String nodeIp() throws IOException {
    for (NetworkInterface i : NetworkInterface.networkInterfaces().toList()) {
      String name = i.getName();
      if (!i.isUp()
          || i.isLoopback()
          || name.startsWith("krill")
          || name.startsWith("veth")
          || name.startsWith("cni")) {
        continue;
      }
      for (InetAddress a : i.inetAddresses().toList()) {
        if (a instanceof Inet4Address) {
          return a.getHostAddress();
        }
      }
    }
    fail("the node has no IPv4 address outside the loopback and CNI bridges");
    return null;
  }

  /** A port from {@code base} up that nothing on the node listens on and no DNAT rule names. */
  private static int freePort(int base) throws Exception {
    String rules = iptablesNat();
    for (int tries = 0; tries < 100; tries++) {
      int port = base + ThreadLocalRandom.current().nextInt(2000);
      if (rules.contains("--dport " + port + " ")) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("0.0.0.0", port));
        return port;
      } catch (IOException inUse) {
        // try another
      }
    }
    fail("no free port from " + base);
    return 0;
  }

  /** Whether portmap's DNAT rule for {@code hostPort} to the pod's port is in the nat table. */
  private static void assertDnat(int hostPort, String podIp, boolean present) throws Exception {
    String rules = iptablesNat();
    boolean found =
        rules.matches(
            "(?s).*-p tcp -m tcp --dport "
                + hostPort
                + " -j DNAT --to-destination "
                + podIp.replace(".", "\\.")
                + ":"
                + CONTAINER_PORT
                + "\n.*");
    assertEquals(
        present,
        found,
        (present ? "no DNAT rule for host port " : "the DNAT rule outlives the pod for host port ")
            + hostPort
            + ":\n"
            + rules);
  }

  private static String iptablesNat() throws Exception {
    Process p = new ProcessBuilder("iptables-save", "-t", "nat").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      fail("iptables-save -t nat failed: " + out);
    }
    return out;
  }

  private static void assertRefused(String host, int port) {
    assertThrows(
        ConnectException.class,
        () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
          }
        },
        host + ":" + port + " still accepts connections");
  }

  /** Nothing accepts on the loopback at {@code port}, and it can be bound again. */
  private static void assertPortFree(int port) throws IOException {
    assertRefused("127.0.0.1", port);
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", port));
    }
  }

  private static URI uri(String host, int port, String path) {
    return URI.create("http://" + host + ":" + port + path);
  }

  /**
   * Another machine on the node's network, as far as the node can tell: a network namespace joined
   * to the node by a veth pair on a /30 of its own, its default route through the node.
   */
  private record OtherMachine(String netns, String hostIf) implements AutoCloseable {
    static OtherMachine start() {
      String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
      String net = "10.216." + ThreadLocalRandom.current().nextInt(256) + ".";
      OtherMachine m = new OtherMachine("krill-other-" + suffix, "kro" + suffix);
      try {
        sh("ip", "netns", "add", m.netns);
        sh("ip", "link", "add", m.hostIf, "type", "veth", "peer", "name", "eth0", "netns", m.netns);
        sh("ip", "addr", "add", net + "1/30", "dev", m.hostIf);
        sh("ip", "link", "set", m.hostIf, "up");
        sh("ip", "-n", m.netns, "addr", "add", net + "2/30", "dev", "eth0");
        sh("ip", "-n", m.netns, "link", "set", "eth0", "up");
        sh("ip", "-n", m.netns, "link", "set", "lo", "up");
        sh("ip", "-n", m.netns, "route", "add", "default", "via", net + "1");
        return m;
      } catch (RuntimeException | Error e) {
        m.close();
        throw e;
      }
    }

    List<String> exec() {
      return List.of("ip", "netns", "exec", netns);
    }

    @Override
    public void close() {
      Host.run("ip", "link", "del", hostIf);
      Host.run("ip", "netns", "del", netns);
    }

    private static void sh(String... cmd) {
      int rc = Host.run(cmd);
      if (rc != 0) {
        fail(String.join(" ", cmd) + " failed with exit " + rc);
      }
    }
  }

  /** A response as curl reports it. */
  private record Curl(int status, String body) {}

  /**
   * {@code curl -s URL}, as an operator would check the port, again until the server answers (a
   * probe's retries), at most {@code within}.
   */
  private static Curl curl(URI uri, Duration within) throws Exception {
    return curl(List.of(), uri, within);
  }

  /** As {@link #curl(URI, Duration)}, curl run under {@code prefix} (such as ip netns exec). */
  private static Curl curl(List<String> prefix, URI uri, Duration within) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of("curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", uri.toString()));
    long end = System.nanoTime() + within.toNanos();
    while (true) {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int rc = p.waitFor();
      if (rc == 0) {
        int nl = out.lastIndexOf('\n');
        return new Curl(Integer.parseInt(out.substring(nl + 1).strip()), out.substring(0, nl));
      }
      if (System.nanoTime() > end) {
        fail(String.join(" ", cmd) + " failed (curl exit " + rc + "): " + out);
      }
      Thread.sleep(200);
    }
  }
}
