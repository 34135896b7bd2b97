package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Pod;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A listening guest in a Kubernetes pod through containerd's CRI plugin and a CNI bridge network:
 * the pod annotation {@code krill.io/listen: tcp://0.0.0.0:PORT} opens the socket in the pod's
 * network namespace, so the pod IP answers HTTP from the node (what kubelet's httpGet probes and a
 * Service's traffic do) and the node's own loopback does not; StopContainer ends it.
 */
class CriListeningGuestE2ETest {
  /** Far from common ports, so the node-side check cannot meet another server. */
  private static final int PORT = 38093;

  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void thePodIpServesHttpFromTheGuest(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    // as a Deployment's pod template would say it: kubelet passes pod annotations, containerd
    // copies
    // the handler's pod_annotations (krill.io/*) into the containers' OCI specs
    Pod pod =
        runPod(
            c,
            podConfig(c, "listen").toBuilder()
                .putAnnotations("krill.io/listen", "tcp://0.0.0.0:" + PORT)
                .build(),
            CriConfig.HANDLER);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    String id = createAndStart(c, pod, containerConfig("web", ref, "/serve.wasm"));
    awaitRunning(c, id);
    String ip = podIp(c, pod);

    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI uri = URI.create("http://" + ip + ":" + PORT + "/healthz");
    HttpResponse<String> first = getWithin(http, uri, Duration.ofSeconds(30));
    assertEquals(200, first.statusCode(), first.toString());
    assertEquals("hello\n", first.body());

    // eight at once: the guest takes them one after another, none is lost
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      all.add(
          http.sendAsync(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> f : all) {
      HttpResponse<String> r = f.get();
      assertEquals(200, r.statusCode(), r.toString());
      assertEquals("hello\n", r.body());
    }
    // the socket is the pod's, not the node's
    assertThrows(
        ConnectException.class,
        () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", PORT), 2000);
          }
        });

    call(
        c,
        "StopContainer",
        () ->
            c.cri()
                .runtime()
                .stopContainer(
                    StopContainerRequest.newBuilder().setContainerId(id).setTimeout(5).build()));
    ContainerStatus s = awaitExited(c, id);
    assertTrue(s.getExitCode() == SIGTERM_EXIT || s.getExitCode() == SIGKILL_EXIT, s.toString());
    assertThrows(
        IOException.class,
        () -> http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()),
        "the pod IP still answers after StopContainer");

    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /** GETs until the server answers (a probe's retries), at most {@code within}. */
  private static HttpResponse<String> getWithin(HttpClient http, URI uri, Duration within)
      throws Exception {
    long end = System.nanoTime() + within.toNanos();
    while (true) {
      try {
        return http.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        if (System.nanoTime() > end) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }
}
