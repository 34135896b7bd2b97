package io.krill.it.kubernetes;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/kubernetes.md shows operators exactly the containerd config the CRI tests run with. */
class KubernetesDocTest {
  private static String doc() throws Exception {
    return doc("kubernetes.md");
  }

  private static String doc(String name) throws Exception {
    String dist = System.getProperty("krill.dist");
    assertTrue(
        dist != null && !dist.isBlank(), "krill.dist is not set: run the tests through Maven");
    return Files.readString(Path.of(dist).getParent().resolve("docs").resolve(name));
  }

  /**
   * docs/http.md's CNI network for host ports is the one CriPortMappingE2ETest runs with, its
   * private bridge, subnet and IPAM directory aside.
   */
  @Test
  void portmapConflist_isTheOneTheTestsUse() throws Exception {
    String snippet =
        "```json\n"
            + CriConfig.cniConflist(
                "pods", "cni0", "10.88.0.0/16", Path.of("/var/lib/cni/networks"), true)
            + "```";
    assertTrue(doc("http.md").contains(snippet), "docs/http.md lacks the CNI network:\n" + snippet);
  }

  @Test
  void runtimeHandlerSnippets_areTheOnesTheTestsUse() throws Exception {
    String doc = doc();
    for (ContainerdVersion v : ContainerdVersion.values()) {
      String snippet =
          "```toml\n" + CriConfig.runtimeHandler(v) + CriConfig.isolatedRuntimeHandler(v) + "```";
      assertTrue(
          doc.contains(snippet), "docs/kubernetes.md lacks the config for " + v + ":\n" + snippet);
    }
  }

  @Test
  void defaultRuntimeSnippets_areTheOnesTheTestsUse() throws Exception {
    String doc = doc();
    for (ContainerdVersion v : ContainerdVersion.values()) {
      String snippet = "```toml\n" + CriConfig.defaultRuntime(v) + "```";
      assertTrue(
          doc.contains(snippet),
          "docs/kubernetes.md lacks the default-runtime config for " + v + ":\n" + snippet);
    }
  }
}
