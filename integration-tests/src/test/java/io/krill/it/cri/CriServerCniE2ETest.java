package io.krill.it.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriCalls;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriDaemon;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.ProbeScenarios;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri} with real CNI plugins (Debian's containernetworking-plugins): a pod IP from a
 * namespace of its own and teardown; port mappings through the portmap plugin (iptables DNAT
 * rules); the pod's resolv.conf, hostname and hosts files and what guests see of them; host-network
 * pods; and CNI CHECK of ready pods when the daemon restarts.
 */
class CriServerCniE2ETest {
  /**
   * krill cri logs in the daemons' key=value format, where a message's double quotes become single
   * ones.
   */
  private static final String LOG_QUOTE = "'";

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private String bridge;
  private String prefix;
  private Path cni;
  private Path socket;
  private KrillCriDaemon daemon;
  private final List<String> pods = new ArrayList<>();

  @BeforeEach
  void network() throws IOException {
    bridge =
        "krcri" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 8);
    // 10.200.0.0/13 as the CRI tests use it: rarely routed anywhere; a random /24 keeps parallel
    // runs apart.
    prefix =
        "10."
            + (200 + ThreadLocalRandom.current().nextInt(8))
            + "."
            + ThreadLocalRandom.current().nextInt(256);
    cni = Files.createDirectories(tmp.resolve("cni"));
    socket = tmp.resolve("run/krill.sock");
  }

  /**
   * Whatever a failed test left: pods (so CNI DEL removes their iptables rules), namespaces, the
   * bridge.
   */
  @AfterEach
  void cleanUp() throws Exception {
    if (daemon != null && daemon.isAlive()) {
      try (CriClient c = new CriClient(socket)) {
        for (String pod : pods) {
          c.runtime()
              .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        }
      } finally {
        stopDaemon();
      }
    }
    for (String pod : pods) {
      if (Files.exists(netns(pod))) {
        Host.run("ip", "netns", "delete", netns(pod).getFileName().toString());
      }
    }
    // The bridge plugin never deletes the bridge it made: it outlives every pod by design.
    Host.run("ip", "link", "del", bridge);
  }

  @Test
  void podNetwork_getsIpAndIsTornDown() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    try (CriClient c = new CriClient(socket)) {
      RuntimeCondition net =
          c
              .runtime()
              .status(StatusRequest.getDefaultInstance())
              .getStatus()
              .getConditionsList()
              .stream()
              .filter(x -> x.getType().equals("NetworkReady"))
              .findFirst()
              .orElseThrow();
      assertTrue(net.getStatus(), net.toString());

      String pod = runPod(c, podConfig("net").build());
      PodSandboxStatus s = status(c, pod);
      assertTrue(s.getNetwork().getIp().startsWith(prefix + "."), s.getNetwork().toString());
      assertEquals(NamespaceMode.POD, s.getLinux().getNamespaces().getOptions().getNetwork());
      assertTrue(Files.exists(netns(pod)), netns(pod) + " should exist while the pod runs");
      String addr =
          output(
              "ip",
              "netns",
              "exec",
              netns(pod).getFileName().toString(),
              "ip",
              "-4",
              "addr",
              "show",
              "eth0");
      assertTrue(addr.contains(s.getNetwork().getIp()), addr);

      c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertFalse(Files.exists(netns(pod)), "the namespace goes with StopPodSandbox");
      c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertEquals(
          0,
          c.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
      assertFalse(
          Files.exists(tmp.resolve("root/pods").resolve(pod)), "the pod's files go with it");
      assertNoLease(s.getNetwork().getIp());
    }
  }

  /**
   * port_mappings reach portmap (it declares the capability) as runtimeConfig.portMappings: a DNAT
   * rule per mapping with a host port, protocol lower case, hostIP kept. They are kept across a
   * restart, so the DEL after it still removes the rules. Debian 12's portmap (1.1.1) fails CHECK
   * for every IPv4-only pod (containernetworking/plugins#819), so this list sets disableCheck, as
   * docs/cri.md tells its users to.
   */
  @Test
  void portMappings_reachPortmap_dnatRulesWhileReady_keptAcrossRestart_goneAfterStop()
      throws Exception {
    writeConflist(
        list ->
            list.put("disableCheck", true)
                .withArray("plugins")
                .addObject()
                .put("type", "portmap")
                .set("capabilities", JSON.createObjectNode().put("portMappings", true)));
    int tcpPort = 30000 + ThreadLocalRandom.current().nextInt(2000);
    int udpPort = tcpPort + 2000;
    startDaemon();
    String pod;
    String ip;
    try (CriClient c = new CriClient(socket)) {
      pod =
          runPod(
              c,
              podConfig("ports")
                  .addPortMappings(
                      PortMapping.newBuilder()
                          .setProtocol(Protocol.TCP)
                          .setContainerPort(8080)
                          .setHostPort(tcpPort))
                  .addPortMappings(
                      PortMapping.newBuilder()
                          .setProtocol(Protocol.UDP)
                          .setContainerPort(5353)
                          .setHostPort(udpPort)
                          .setHostIp("127.0.0.1"))
                  // no host port: containerd leaves it out, and so does krill
                  .addPortMappings(
                      PortMapping.newBuilder().setProtocol(Protocol.TCP).setContainerPort(9090))
                  .build());
      ip = status(c, pod).getNetwork().getIp();
    }
    String rules = output("iptables-save", "-t", "nat");
    assertTrue(
        rules.matches(
            "(?s).*-p tcp -m tcp --dport "
                + tcpPort
                + " -j DNAT --to-destination "
                + ip
                + ":8080\n.*"),
        rules);
    assertTrue(
        rules.matches(
            "(?s).*-d 127\\.0\\.0\\.1(/32)? -p udp -m udp --dport "
                + udpPort
                + " -j DNAT --to-destination "
                + ip
                + ":5353\n.*"),
        rules);
    assertFalse(rules.contains(ip + ":9090"), rules);

    stopDaemon();
    startDaemon();
    try (CriClient c = new CriClient(socket)) {
      assertEquals(PodSandboxState.SANDBOX_READY, status(c, pod).getState(), log());
      c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      rules = output("iptables-save", "-t", "nat");
      assertFalse(rules.contains("--to-destination " + ip + ":"), rules);
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }
  }

  /**
   * DNS config and hostname become the pod's resolv.conf and hostname (hosts is the node's), as
   * containerd writes them; every container gets HOSTNAME and sees the files in a read-only /etc
   * beside the image's own /etc files.
   */
  @Test
  void dnsAndHostname_podFilesWritten_guestsSeeThemAndHostname() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    Path logs = tmp.resolve("logs");
    try (LocalRegistry registry =
            new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        CriClient c = new CriClient(socket)) {
      String image = pushProgs(registry);
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .build());
      PodSandboxConfig config =
          podConfig("dns")
              .setHostname("web-0")
              .setLogDirectory(logs.toString())
              .setDnsConfig(
                  DNSConfig.newBuilder()
                      .addServers("10.96.0.10")
                      .addServers("10.96.0.11")
                      .addSearches("default.svc.cluster.local")
                      .addSearches("cluster.local")
                      .addOptions("ndots:5"))
              .build();
      String pod = runPod(c, config);
      Path files = tmp.resolve("root/pods").resolve(pod);
      String resolv =
          "search default.svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
              + "nameserver 10.96.0.11\noptions ndots:5\n";
      assertEquals(resolv, Files.readString(files.resolve("resolv.conf")));
      assertEquals("web-0\n", Files.readString(files.resolve("hostname")));
      assertEquals(
          Files.readString(Path.of("/etc/hosts")), Files.readString(files.resolve("hosts")));

      run(c, pod, config, image, "env", "env:HOSTNAME=web-0\n", "/args.wasm");
      assertEquals(
          resolv,
          run(c, pod, config, image, "resolv", resolv, "/files.wasm", "read", "/etc/resolv.conf")
              .stdout());
      assertEquals(
          "web-0\n",
          run(c, pod, config, image, "hostname", "web-0\n", "/files.wasm", "read", "/etc/hostname")
              .stdout());
      assertEquals(
          "from the image\n",
          run(c, pod, config, image, "motd", "from the image\n", "/files.wasm", "read", "/etc/motd")
              .stdout());
      Ran write =
          run(
              c,
              pod,
              config,
              image,
              "write",
              "write /etc/hostname: ",
              "/files.wasm",
              "write",
              "/etc/hostname",
              "x");
      assertEquals(1, write.exitCode(), write.toString());
      assertEquals("web-0\n", Files.readString(files.resolve("hostname")), "read-only for guests");

      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertFalse(Files.exists(files));
    }
  }

  /**
   * A container with {@code krill.io/wagi} in a CNI pod: krill opens the socket in the pod's
   * network namespace (the container's spec names it), so the host reaches the server at the pod
   * IP; each request is an instance of wagi.wasm; StopContainer (SIGTERM) ends it with 143.
   */
  @Test
  void wagiContainer_servesAtThePodIp_stopsWith143() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    try (LocalRegistry registry =
            new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        CriClient c = new CriClient(socket)) {
      String image = pushProgs(registry);
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .build());
      PodSandboxConfig config =
          podConfig("wagi").setLogDirectory(tmp.resolve("logs").toString()).build();
      String pod = runPod(c, config);
      String ip = status(c, pod).getNetwork().getIp();
      String id =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setSandboxConfig(config)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("web"))
                              .setImage(ImageSpec.newBuilder().setImage(image))
                              .setLogPath("web.log")
                              .putAnnotations("krill.io/wagi", "tcp://0.0.0.0:8080")
                              .addAllCommand(List.of("/wagi.wasm")))
                      .build())
              .getContainerId();
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.net.http.HttpRequest get =
          java.net.http.HttpRequest.newBuilder(
                  java.net.URI.create("http://" + ip + ":8080/echo?x=1"))
              .version(java.net.http.HttpClient.Version.HTTP_1_1)
              .timeout(java.time.Duration.ofSeconds(30))
              .build();
      java.net.http.HttpResponse<String> r = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (r == null) {
        try {
          r = http.send(get, java.net.http.HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
          if (System.nanoTime() > deadline) {
            fail("nothing answers at " + ip + ":8080: " + log());
          }
          Host.sleep(100);
        }
      }
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("path=/echo\nquery=x=1\n"), r.body());
      c.runtime()
          .stopContainer(
              StopContainerRequest.newBuilder().setContainerId(id).setTimeout(10).build());
      assertEquals(143, CriCalls.awaitExit(c, id).getExitCode());
      String containerLog = Files.readString(tmp.resolve("logs").resolve("web.log"));
      assertTrue(containerLog.contains(" stdout F GET /echo?x=1 200 "), containerLog);
      c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    }
  }

  /**
   * A pod annotated {@code krill.io/listen}: its container's socket is opened in the pod's network
   * namespace, so the pod IP serves HTTP from the guest (as kubelet's probes reach it) and the
   * node's loopback does not; removing the pod frees it.
   */
  @Test
  void listeningGuest_podAnnotation_servesOnThePodIp() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    int port = 38094;
    try (LocalRegistry registry =
            new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        CriClient c = new CriClient(socket)) {
      String image = registry.push(serveTar(), "cri/serve:v1");
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .build());
      PodSandboxConfig config =
          podConfig("web")
              .setLogDirectory(Files.createDirectories(tmp.resolve("web-logs")).toString())
              .putAnnotations("krill.io/listen", "tcp://0.0.0.0:" + port)
              .build();
      String pod = runPod(c, config);
      String ip = status(c, pod).getNetwork().getIp();
      String id =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setSandboxConfig(config)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("serve"))
                              .setImage(ImageSpec.newBuilder().setImage(image))
                              .setLogPath("serve.log"))
                      .build())
              .getContainerId();
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());

      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      URI uri = URI.create("http://" + ip + ":" + port + "/ready");
      HttpResponse<String> r = null;
      for (int i = 0; i < 100 && r == null; i++) {
        try {
          r =
              http.send(
                  HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString());
        } catch (IOException notYet) {
          Thread.sleep(200);
        }
      }
      assertTrue(r != null, "the pod IP " + ip + " never answered on " + port + "\n" + log());
      assertEquals(200, r.statusCode(), r.toString());
      assertEquals("hello\n", r.body());
      assertThrows(
          IOException.class,
          () -> {
            try (Socket s = new Socket()) {
              s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            }
          },
          "the node's loopback listens on the pod's port");

      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertThrows(
          IOException.class,
          () ->
              http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()),
          "the pod IP still answers after the pod is removed");
    }
  }

  /**
   * kubelet's httpGet and tcpSocket probes from the node against a WAGI container and a listening
   * guest in CNI pods of {@code krill cri}, and kubelet's reaction to a failed liveness probe
   * (StopContainer, attempt 1 in the same sandbox ready again), and a graceful stop as a probe sees
   * it: the steps of {@link ProbeScenarios}, as HttpProbeE2ETest runs them through containerd.
   */
  @Test
  void probes_wagiAndListeningGuest_readinessLivenessRestartAndDrain() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    int port = 38096;
    try (LocalRegistry registry =
            new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        CriClient c = new CriClient(socket)) {
      String image = pushProgs(registry);
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .build());

      PodSandboxConfig wagiPod =
          podConfig("probed-wagi")
              .setLogDirectory(tmp.resolve("wagi-logs").toString())
              .putAnnotations("krill.io/wagi", "tcp://0.0.0.0:8080")
              .build();
      String wagi = runPod(c, wagiPod);
      ProbeScenarios w =
          new ProbeScenarios(
              c,
              new Pod(wagi, wagiPod),
              status(c, wagi).getNetwork().getIp(),
              ContainerConfig.newBuilder()
                  .setMetadata(ContainerMetadata.newBuilder().setName("web"))
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .addAllCommand(List.of("/wagi.wasm"))
                  .build(),
              this::logOrFailure);
      w.wagi(8080);

      PodSandboxConfig listenPod =
          podConfig("probed-listen")
              .setLogDirectory(tmp.resolve("listen-logs").toString())
              .putAnnotations("krill.io/listen", "tcp://0.0.0.0:" + port)
              .build();
      String listen = runPod(c, listenPod);
      ProbeScenarios l =
          new ProbeScenarios(
              c,
              new Pod(listen, listenPod),
              status(c, listen).getNetwork().getIp(),
              ContainerConfig.newBuilder()
                  .setMetadata(ContainerMetadata.newBuilder().setName("serve"))
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .addAllCommand(List.of("/serve.wasm"))
                  .build(),
              this::logOrFailure);
      l.listening(port);

      for (String id : w.containers()) {
        c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      }
      for (String id : l.containers()) {
        c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      }
    }
  }

  private String logOrFailure() {
    try {
      return "\nkrill cri log:\n" + log();
    } catch (IOException e) {
      return "\n(no krill cri log: " + e + ")";
    }
  }

  /** An image whose entrypoint is the one-connection-at-a-time HTTP server. */
  private Path serveTar() throws IOException {
    return OciImage.named("cri/serve:v1")
        .layer(Map.of("/serve.wasm", TestPrograms.bytes("serve.wasm")))
        .entrypoint("/serve.wasm")
        .writeTarball(tmp.resolve("serve.tar"));
  }

  /**
   * A host-network pod runs no CNI at all (this network's plugin does not exist, so any ADD would
   * fail), has no namespace and no IP, and gets the node's resolv.conf and hostname.
   */
  @Test
  void hostNetworkPod_noCni_nodeResolvConfAndHostname() throws Exception {
    writeConflist(
        list ->
            ((ObjectNode) list.withArray("plugins").get(0)).put("type", "krill-no-such-plugin"));
    startDaemon();
    Path logs = tmp.resolve("logs");
    try (LocalRegistry registry =
            new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        CriClient c = new CriClient(socket)) {
      String image = pushProgs(registry);
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(image))
                  .build());
      PodSandboxConfig config =
          podConfig("host")
              .setLogDirectory(logs.toString())
              .setLinux(
                  LinuxPodSandboxConfig.newBuilder()
                      .setSecurityContext(
                          LinuxSandboxSecurityContext.newBuilder()
                              .setNamespaceOptions(
                                  NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE))))
              .build();
      String pod = runPod(c, config);
      PodSandboxStatus s = status(c, pod);
      assertEquals("", s.getNetwork().getIp());
      assertEquals(NamespaceMode.NODE, s.getLinux().getNamespaces().getOptions().getNetwork());
      assertFalse(Files.exists(netns(pod)));
      String node = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      Path files = tmp.resolve("root/pods").resolve(pod);
      assertEquals(
          Files.readString(Path.of("/etc/resolv.conf")),
          Files.readString(files.resolve("resolv.conf")));
      assertEquals(node + "\n", Files.readString(files.resolve("hostname")));
      run(c, pod, config, image, "env", "env:HOSTNAME=" + node + "\n", "/args.wasm");
      String hostResolv = Files.readString(Path.of("/etc/resolv.conf"));
      assertEquals(
          hostResolv,
          run(
                  c,
                  pod,
                  config,
                  image,
                  "resolv",
                  hostResolv,
                  "/files.wasm",
                  "read",
                  "/etc/resolv.conf")
              .stdout());
      c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }
  }

  /**
   * After a restart every pod that was ready is CHECKed: one whose namespace is gone or whose CHECK
   * fails (its eth0 deleted) is NOTREADY, its network torn down (addresses released, namespace
   * removed) and the log names it, the plugin and the plugin's error; an intact pod stays ready
   * with its IP.
   */
  @Test
  void restart_readyPodsChecked_brokenOnesNotReadyAndTornDown() throws Exception {
    writeConflist(list -> {});
    startDaemon();
    String intact;
    String noNetns;
    String noEth0;
    Map<String, String> ips = new LinkedHashMap<>();
    try (CriClient c = new CriClient(socket)) {
      intact = runPod(c, podConfig("intact").build());
      noNetns = runPod(c, podConfig("no-netns").build());
      noEth0 = runPod(c, podConfig("no-eth0").build());
      for (String p : List.of(intact, noNetns, noEth0)) {
        ips.put(p, status(c, p).getNetwork().getIp());
      }
    }
    stopDaemon();
    assertEquals(0, Host.run("ip", "netns", "delete", netns(noNetns).getFileName().toString()));
    assertEquals(
        0,
        Host.run(
            "ip",
            "netns",
            "exec",
            netns(noEth0).getFileName().toString(),
            "ip",
            "link",
            "del",
            "eth0"));
    startDaemon();
    try (CriClient c = new CriClient(socket)) {
      PodSandboxStatus ok = status(c, intact);
      assertEquals(PodSandboxState.SANDBOX_READY, ok.getState(), log());
      assertEquals(ips.get(intact), ok.getNetwork().getIp());
      assertTrue(Files.exists(netns(intact)));
      for (String broken : List.of(noNetns, noEth0)) {
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, status(c, broken).getState(), log());
        assertFalse(Files.exists(netns(broken)), "torn down at restart");
        assertNoLease(ips.get(broken));
      }
      String log = log();
      assertTrue(
          log.matches(
              "(?s).*pod default/no-netns \\(sandbox "
                  + noNetns.substring(0, 13)
                  + "\\) was ready before krill cri restarted, but its network namespace [^ ]+ is gone.*"),
          log);
      assertTrue(
          log.matches(
              "(?s).*pod default/no-eth0 \\(sandbox "
                  + noEth0.substring(0, 13)
                  + "\\) was ready before krill cri restarted, but CNI CHECK of plugin ['\"]bridge['\"] in network ['\"]"
                  + bridge
                  + "['\"] failed: [^\n]*eth0[^\n]* \\(CNI error \\d+\\); it is now NOTREADY.*"),
          log);
      assertFalse(log.contains("default/intact"), log);
      for (String p : List.of(intact, noNetns, noEth0)) {
        c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p).build());
        c.runtime()
            .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p).build());
      }
      assertNoLease(ips.get(intact));
    }
  }

  /**
   * disableCheck in the list: CHECK does not run (the broken eth0 goes unnoticed), but a lost
   * namespace does not.
   */
  @Test
  void restart_disableCheck_noCheck_butLostNamespaceStillNotReady() throws Exception {
    writeConflist(list -> list.put("disableCheck", true));
    startDaemon();
    String noNetns;
    String noEth0;
    try (CriClient c = new CriClient(socket)) {
      noNetns = runPod(c, podConfig("no-netns").build());
      noEth0 = runPod(c, podConfig("no-eth0").build());
    }
    stopDaemon();
    assertEquals(0, Host.run("ip", "netns", "delete", netns(noNetns).getFileName().toString()));
    assertEquals(
        0,
        Host.run(
            "ip",
            "netns",
            "exec",
            netns(noEth0).getFileName().toString(),
            "ip",
            "link",
            "del",
            "eth0"));
    startDaemon();
    try (CriClient c = new CriClient(socket)) {
      assertEquals(PodSandboxState.SANDBOX_READY, status(c, noEth0).getState(), log());
      assertEquals(PodSandboxState.SANDBOX_NOTREADY, status(c, noNetns).getState(), log());
      assertTrue(
          log()
              .contains(
                  "pod default/no-eth0 (sandbox "
                      + noEth0.substring(0, 13)
                      + "): CNI CHECK"
                      + " skipped: network "
                      + LOG_QUOTE
                      + bridge
                      + LOG_QUOTE
                      + " sets disableCheck"),
          log());
      for (String p : List.of(noNetns, noEth0)) {
        c.runtime()
            .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p).build());
      }
      assertFalse(Files.exists(netns(noEth0)));
    }
  }

  private void writeConflist(Consumer<ObjectNode> edit) throws IOException {
    ObjectNode list =
        (ObjectNode)
            JSON.readTree(
                CriConfig.cniConflist(bridge, bridge, prefix + ".0/24", tmp.resolve("ipam")));
    edit.accept(list);
    Files.writeString(
        cni.resolve("10-krill.conflist"),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(list));
  }

  /** Each run logs to daemon-run.log; {@link #stopDaemon} appends it to daemon.log. */
  private void startDaemon() throws IOException {
    daemon = KrillCriDaemon.start(socket, tmp.resolve("root"), cni, tmp.resolve("daemon-run.log"));
  }

  private void stopDaemon() throws Exception {
    daemon.close();
    Path run = tmp.resolve("daemon-run.log");
    if (Files.exists(run)) {
      Files.write(
          tmp.resolve("daemon.log"),
          Files.readAllBytes(run),
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      Files.delete(run);
    }
  }

  /** Every daemon run's output so far, the current one last. */
  private String log() throws IOException {
    Path all = tmp.resolve("daemon.log");
    Path run = tmp.resolve("daemon-run.log");
    return (Files.exists(all) ? Files.readString(all) : "")
        + (Files.exists(run) ? Files.readString(run) : "");
  }

  private static PodSandboxConfig.Builder podConfig(String name) {
    return PodSandboxConfig.newBuilder()
        .setMetadata(
            PodSandboxMetadata.newBuilder()
                .setName(name)
                .setNamespace("default")
                .setUid("uid-" + name))
        .putLabels("app", name);
  }

  private String runPod(CriClient c, PodSandboxConfig config) {
    String id =
        c.runtime()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
            .getPodSandboxId();
    pods.add(id);
    return id;
  }

  private static PodSandboxStatus status(CriClient c, String pod) {
    return c.runtime()
        .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
        .getStatus();
  }

  private static Path netns(String pod) {
    return Path.of("/run/netns/krill-" + pod.substring(0, 16));
  }

  private void assertNoLease(String ip) throws IOException {
    try (var leases = Files.list(tmp.resolve("ipam").resolve(bridge))) {
      assertTrue(
          leases.noneMatch(p -> p.getFileName().toString().equals(ip)), "CNI DEL released " + ip);
    }
  }

  /** An image with the env, file, WAGI and listening programs, and a file of its own in /etc. */
  private Path progsTar() throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("/args.wasm", TestPrograms.bytes("args.wasm"));
    files.put("/files.wasm", TestPrograms.bytes("files.wasm"));
    files.put("/wagi.wasm", TestPrograms.bytes("wagi.wasm"));
    files.put("/serve.wasm", TestPrograms.bytes("serve.wasm"));
    files.put("/etc/motd", "from the image\n".getBytes(StandardCharsets.UTF_8));
    return OciImage.named("cri/net-progs:v1")
        .layer(files)
        .entrypoint("/args.wasm")
        .writeTarball(tmp.resolve("net-progs.tar"));
  }

  private String pushProgs(LocalRegistry registry) throws IOException {
    return registry.push(progsTar(), "cri/net-progs:v1");
  }

  /** A container's exit code and what it wrote, from its CRI log. */
  private record Ran(int exitCode, String stdout, String stderr) {}

  /**
   * Creates and starts a container, waits for it to exit and for its log to hold {@code expected}
   * on stdout (or on stderr when it fails): the exit is reported once the guest is gone, its last
   * output may still be on its way to the log.
   */
  private static Ran run(
      CriClient c,
      String pod,
      PodSandboxConfig config,
      String image,
      String name,
      String expected,
      String... command)
      throws IOException {
    String id =
        c.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod)
                    .setSandboxConfig(config)
                    .setConfig(
                        ContainerConfig.newBuilder()
                            .setMetadata(ContainerMetadata.newBuilder().setName(name))
                            .setImage(ImageSpec.newBuilder().setImage(image))
                            .setLogPath(name + ".log")
                            .addAllCommand(List.of(command)))
                    .build())
            .getContainerId();
    c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    int code = CriCalls.awaitExit(c, id).getExitCode();
    Path log = Path.of(config.getLogDirectory(), name + ".log");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      StringBuilder out = new StringBuilder();
      StringBuilder err = new StringBuilder();
      for (String line : (Files.exists(log) ? Files.readString(log) : "").split("\n")) {
        String[] f = line.split(" ", 4);
        if (f.length == 4) {
          (f[1].equals("stdout") ? out : err).append(f[3]).append(f[2].equals("F") ? "\n" : "");
        }
      }
      Ran ran = new Ran(code, out.toString(), err.toString());
      if ((code == 0 ? ran.stdout() : ran.stderr()).contains(expected)) {
        c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
        return ran;
      }
      if (System.nanoTime() > deadline) {
        fail("container " + name + " did not write \"" + expected + "\": " + ran);
      }
      Host.sleep(50);
    }
  }

  private static String output(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      fail(String.join(" ", cmd) + " failed: " + out);
    }
    return out;
  }
}
