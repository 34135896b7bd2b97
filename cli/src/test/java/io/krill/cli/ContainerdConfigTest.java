package io.krill.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ContainerdConfigTest {
  static final String V2 =
      "# my comment\nversion = 2\nroot = \"/var/lib/containerd\"\n\n"
          + "[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n"
          + "    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n      runtime_type = \"io.containerd.runc.v2\"\n"
          + "\n[timeouts]\n  \"io.containerd.timeout.shim.cleanup\" = \"5s\"\n";
  static final String V3 =
      "version = 3\nroot = '/var/lib/containerd'\n\n[plugins]\n"
          + "  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n    runtime_type = 'io.containerd.runc.v2'\n";

  @Test
  void withBlock_version2_addsCriRuntimeAndKeepsEverythingElse() {
    ContainerdConfig after = new ContainerdConfig(V2).withBlock("krill", 2, false);
    assertTrue(after.text().startsWith(V2));
    assertEquals(
        "io.containerd.krill.v1",
        ContainerdConfig.runtime(after.parse(), 2, "krill")
            .orElseThrow()
            .path("runtime_type")
            .asText());
    assertEquals(
        "5s", after.parse().path("timeouts").path("io.containerd.timeout.shim.cleanup").asText());
  }

  @Test
  void withBlock_declaresTheIsolatedRuntimeBesideKrill() {
    for (int version : new int[] {2, 3}) {
      ContainerdConfig after =
          new ContainerdConfig(version == 2 ? V2 : V3).withBlock("krill", version, false);
      assertEquals(
          "io.containerd.krill-isolated.v1",
          ContainerdConfig.runtime(after.parse(), version, "krill-isolated")
              .orElseThrow()
              .path("runtime_type")
              .asText());
      ContainerdConfig without =
          new ContainerdConfig(version == 2 ? V2 : V3).withBlock("krill", version, false, false);
      assertFalse(ContainerdConfig.runtime(without.parse(), version, "krill-isolated").isPresent());
    }
  }

  @Test
  void withBlock_version3_usesCriRuntimePlugin() {
    ContainerdConfig after = new ContainerdConfig(V3).withBlock("krill", 3, false);
    assertTrue(
        after
            .text()
            .contains("[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.krill]"));
    assertTrue(ContainerdConfig.runtime(after.parse(), 3, "krill").isPresent());
    assertTrue(ContainerdConfig.runtime(after.parse(), 3, "runc").isPresent());
  }

  @Test
  void withoutBlock_afterWithBlock_originalBytes() {
    for (String original :
        new String[] {V2, V3, V2 + "\n\n", "version = 2", "# only a comment", "\n"}) {
      ContainerdConfig added = new ContainerdConfig(original).withBlock("krill", 2, false);
      assertTrue(added.hasBlock());
      assertEquals(original, added.withoutBlock().text(), "round trip of " + original);
    }
  }

  @Test
  void withBlock_twice_oneEntry() {
    ContainerdConfig twice =
        new ContainerdConfig(V2).withBlock("krill", 2, false).withBlock("krill", 2, false);
    assertEquals(1, twice.text().split("runtimes.krill]", -1).length - 1);
    twice.parse();
  }

  @Test
  void withBlock_emptyFileDeclaringVersion_removesToEmpty() {
    ContainerdConfig created = new ContainerdConfig("").withBlock("krill", 3, true);
    assertEquals(3, created.version().orElseThrow());
    assertEquals("", created.withoutBlock().text());
  }

  @Test
  void withoutBlock_userTextAfterBlock_kept() {
    String edited =
        new ContainerdConfig(V2).withBlock("krill", 2, false).text() + "\n[grpc]\n  uid = 0\n";
    assertEquals(V2 + "\n[grpc]\n  uid = 0\n", new ContainerdConfig(edited).withoutBlock().text());
  }

  @Test
  void parse_invalidToml_refusal() {
    assertThrows(
        Console.Refusal.class, () -> new ContainerdConfig("version = 2\n[plugins\n").parse());
    assertThrows(
        Console.Refusal.class, () -> new ContainerdConfig("[a]\nx = 1\n[a]\nx = 2\n").parse());
  }

  @Test
  void runtimesTable_version1_refusal() {
    assertThrows(Console.Refusal.class, () -> ContainerdConfig.runtimesTable(1));
    assertFalse(new ContainerdConfig(V2).hasBlock());
  }
}
