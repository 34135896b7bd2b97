package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.KeyValue;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Dist;
import io.krill.it.harness.Host;
import io.krill.it.harness.Pod;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The instance-per-request (WAGI) shape in a pod through containerd's CRI plugin with a CNI bridge
 * network: the container's {@code krill.io/wagi} annotation (passed into its OCI spec by the
 * handler's {@code container_annotations}) has krill listen in the pod's network namespace, and the
 * host reaches it at the pod IP; a trap is answered 500 and the next request served; the access log
 * and the guest's stderr are in the CRI log; StopContainer (SIGTERM) ends it with 143.
 */
class WagiCriE2ETest {
  private static final String HANDLER = "krill-wagi";
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private static String handler(ContainerdVersion v) {
    return "[plugins.\""
        + CriConfig.runtimePlugin(v)
        + "\".containerd.runtimes."
        + HANDLER
        + "]\n"
        + "  runtime_type = \""
        + Dist.RUNTIME
        + "\"\n"
        + "  container_annotations = [\"krill.io/*\"]\n";
  }

  private static HttpResponse<String> get(String ip, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://" + ip + ":8080" + path))
            .timeout(Duration.ofSeconds(30))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void podServesAnInstancePerRequestAtItsIp(ContainerdVersion v) throws Exception {
    try (CriContainerd c = CriContainerd.start(v, Map.of(), handler(v))) {
      String ref = c.push(CriContainerd.Image.PROGS);
      pull(c, ref);
      Pod pod = runPod(c, "web", HANDLER);
      String ip = podIp(c, pod);
      String id =
          createAndStart(
              c,
              pod,
              containerConfig("web", ref, "/wagi.wasm")
                  .putAnnotations("krill.io/wagi", "tcp://0.0.0.0:8080")
                  .addEnvs(KeyValue.newBuilder().setKey("GREETING").setValue("from-pod")));
      awaitRunning(c, id);

      HttpResponse<String> r = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (r == null) {
        try {
          r = get(ip, "/echo?x=1");
        } catch (IOException e) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("nothing answers at " + ip + ":8080", e);
          }
          Host.sleep(100);
        }
      }
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("path=/echo\n"), r.body());
      assertTrue(r.body().contains("greeting=from-pod\n"), r.body());
      assertEquals(500, get(ip, "/trap").statusCode());
      assertEquals(200, get(ip, "/echo").statusCode());

      c.cri()
          .runtime()
          .stopContainer(
              StopContainerRequest.newBuilder().setContainerId(id).setTimeout(10).build());
      ContainerStatus s = awaitExited(c, id);
      assertEquals(143, s.getExitCode(), s.toString());

      List<String> log = Files.readAllLines(logFile(pod, "web"), StandardCharsets.UTF_8);
      String all = String.join("\n", log);
      assertTrue(
          log.stream().anyMatch(l -> l.matches("\\S+ stdout F GET /echo\\?x=1 200 \\S+ms")),
          "CRI log: " + all);
      assertTrue(
          log.stream().anyMatch(l -> l.matches("\\S+ stdout F GET /trap 500 \\S+ms")),
          "CRI log: " + all);
      assertTrue(
          log.stream().anyMatch(l -> l.contains(" stderr F wagi guest: GET /echo")),
          "CRI log: " + all);
      assertTrue(
          log.stream()
              .anyMatch(l -> l.contains(" stderr F krill: container " + id + ": GET /trap: 500")),
          "CRI log: " + all);

      teardown(c, pod, id);
      assertEquals(List.of(), krillTasks(c));
      c.assertNoLeaks();
    }
  }
}
