package io.krill.cri.container;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class BundleWriterTest {
  private static final List<String> ENTRY = List.of("/app.wasm");
  private static final List<String> CMD = List.of("--serve");

  @Test
  void argv_nothingGiven_imageEntrypointAndCmd() {
    assertEquals(
        List.of("/app.wasm", "--serve"), BundleWriter.argv(List.of(), List.of(), ENTRY, CMD));
  }

  @Test
  void argv_argsOnly_replaceCmd() {
    assertEquals(List.of("/app.wasm", "x"), BundleWriter.argv(List.of(), List.of("x"), ENTRY, CMD));
  }

  @Test
  void argv_command_replacesEntrypointAndDropsCmd() {
    assertEquals(
        List.of("/other.wasm"), BundleWriter.argv(List.of("/other.wasm"), List.of(), ENTRY, CMD));
    assertEquals(
        List.of("/other.wasm", "y"),
        BundleWriter.argv(List.of("/other.wasm"), List.of("y"), ENTRY, CMD));
  }

  @Test
  void env_containerOverridesImageByName() {
    assertEquals(
        List.of("PATH=/", "A=container", "B=2"),
        BundleWriter.env(List.of("PATH=/", "A=image"), List.of("A=container", "B=2")));
  }
}
