package io.krill.cri.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerResourcesTest {
  private static ContainerResources memory(long limit, long swap) {
    return new ContainerResources(0, 0, 0, limit, 0, "", "", null, null, swap);
  }

  @Test
  void swapDefault_isTheMemoryLimitAsContainerdSetsIt() {
    assertEquals(64, memory(64, 0).withSwapDefault().memorySwapLimitInBytes());
    assertEquals(128, memory(64, 128).withSwapDefault().memorySwapLimitInBytes());
    ContainerResources none = memory(0, 0);
    assertSame(none, none.withSwapDefault());
  }

  @Test
  void update_mergesOnlyWhatItSets() {
    ContainerResources created =
        new ContainerResources(
            100_000,
            50_000,
            256,
            64,
            500,
            "0",
            "0",
            List.of(new ContainerResources.Hugepage("2MB", 2 << 20)),
            Map.of("memory.high", "60"),
            64);
    ContainerResources updated =
        created.updatedWith(new ContainerResources(0, 20_000, 0, 0, 0, "", "1", null, null, 0));
    assertEquals(
        new ContainerResources(
            100_000,
            20_000,
            256,
            64,
            500,
            "0",
            "1",
            List.of(new ContainerResources.Hugepage("2MB", 2 << 20)),
            Map.of("memory.high", "60"),
            64),
        updated);
  }
}
