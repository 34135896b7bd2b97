package io.krill.oci.layout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Index;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.VerifyingInputStream;
import io.krill.oci.image.WasmShape;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciLayoutTest {
  /** {@code (module (func (export "_start")))} */
  static final byte[] MODULE = {
    0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, '_', 's', 't', 'a',
    'r', 't', 0, 0, 10, 4, 1, 2, 0, 0x0b
  };

  @TempDir Path tmp;

  private WasmImageBuilder.Spec spec(boolean artifact) throws IOException {
    Path module = Files.write(tmp.resolve("hello.wasm"), MODULE);
    Path extra = Files.writeString(tmp.resolve("extra.txt"), "data");
    return new WasmImageBuilder.Spec(
        ImageReference.parse("krill.test/hello:1"),
        module,
        artifact,
        artifact ? Map.of() : Map.of("/etc/extra.txt", extra),
        artifact ? List.of() : List.of("a1"),
        artifact ? List.of() : List.of("K=V"),
        Map.of("org.example", "x"),
        null);
  }

  private Manifest manifestOf(OciLayout layout) throws IOException {
    Descriptor d = layout.index().manifests().get(0);
    return Manifest.parse(layout.readSmall(d, Manifest.MAX_BYTES));
  }

  @Test
  void build_tarImage_entrypointAndNamesSet() throws IOException {
    OciLayout layout = OciLayout.create(tmp.resolve("out"));
    Descriptor d = WasmImageBuilder.build(spec(false), layout);
    assertEquals("krill.test/hello:1", d.annotations().get(Index.CONTAINERD_NAME));
    assertEquals("1", d.annotations().get(Index.REF_NAME));
    Manifest m = manifestOf(layout);
    assertEquals(WasmShape.TAR_LAYERS, WasmShape.detect(m));
    ImageConfig c = ImageConfig.parse(layout.readSmall(m.config(), ImageConfig.MAX_BYTES));
    assertEquals(List.of("/hello.wasm"), c.entrypoint());
    assertEquals(List.of("a1"), c.cmd());
    assertEquals("wasip1/wasm", c.platform().toString());
    Path rootfs = tmp.resolve("rootfs");
    try (InputStream in = layout.openBlob(m.layers().get(0))) {
      new SafeUnpacker(SafeUnpacker.Limits.of(1 << 20, 10)).unpack(in, rootfs);
    }
    assertArrayEquals(MODULE, Files.readAllBytes(rootfs.resolve("hello.wasm")));
    assertEquals("data", Files.readString(rootfs.resolve("etc/extra.txt")));
  }

  @Test
  void build_artifact_isCncfShape() throws IOException {
    OciLayout layout = OciLayout.create(tmp.resolve("out"));
    WasmImageBuilder.build(spec(true), layout);
    Manifest m = manifestOf(layout);
    assertEquals(WasmShape.CNCF_ARTIFACT, WasmShape.detect(m));
    assertEquals(MediaTypes.WASM_CONFIG_V0, m.config().mediaType());
    ImageConfig c = ImageConfig.parse(layout.readSmall(m.config(), ImageConfig.MAX_BYTES));
    assertEquals(List.of(m.layers().get(0).digest()), c.layerDigests());
    try (InputStream in = layout.openBlob(WasmShape.moduleLayer(m))) {
      assertArrayEquals(MODULE, in.readAllBytes());
    }
  }

  @Test
  void build_isReproducible_andTarballRoundTrips() throws IOException {
    OciLayout a = OciLayout.create(tmp.resolve("a"));
    OciLayout b = OciLayout.create(tmp.resolve("b"));
    assertEquals(WasmImageBuilder.build(spec(false), a), WasmImageBuilder.build(spec(false), b));
    LayoutTarball.write(a, tmp.resolve("a.tar"));
    LayoutTarball.write(b, tmp.resolve("b.tar"));
    assertArrayEquals(
        Files.readAllBytes(tmp.resolve("a.tar")), Files.readAllBytes(tmp.resolve("b.tar")));
    OciLayout back = LayoutTarball.extract(tmp.resolve("a.tar"), tmp.resolve("back"));
    assertEquals(a.index(), back.index());
    assertEquals(manifestOf(a), manifestOf(back));
  }

  @Test
  void build_artifactWithFiles_refused() {
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    new WasmImageBuilder.Spec(
                        ImageReference.parse("x"),
                        tmp.resolve("m.wasm"),
                        true,
                        Map.of("/a", tmp),
                        null,
                        null,
                        null,
                        null))
            .getMessage()
            .contains("drop --artifact"));
  }

  @Test
  void openBlob_corruptedOnDisk_failsWithDigestMismatch() throws IOException {
    OciLayout layout = OciLayout.create(tmp.resolve("out"));
    WasmImageBuilder.build(spec(true), layout);
    Descriptor layer = manifestOf(layout).layers().get(0);
    byte[] bad = MODULE.clone();
    bad[bad.length - 1] = 0x0a;
    Files.write(layout.blobPath(layer.digest()), bad);
    try (InputStream in = layout.openBlob(layer)) {
      assertTrue(
          assertThrows(VerifyingInputStream.BlobVerificationException.class, in::readAllBytes)
              .getMessage()
              .startsWith("blob digest mismatch: expected " + layer.digest()));
    }
  }

  @Test
  void putBlob_withWrongDigest_storesNothing() throws IOException {
    OciLayout layout = OciLayout.create(tmp.resolve("out"));
    Descriptor claimed = Descriptor.of(MediaTypes.WASM_LAYER, Digest.sha256(new byte[1]), 1);
    assertThrows(
        VerifyingInputStream.BlobVerificationException.class,
        () -> layout.putBlob(claimed, new ByteArrayInputStream(new byte[] {7})));
    assertTrue(!Files.exists(layout.blobPath(claimed.digest())));
  }
}
