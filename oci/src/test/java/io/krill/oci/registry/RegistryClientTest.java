package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.VerifyingInputStream;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.layout.WasmImageBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against the real distribution registry on 127.0.0.1. */
class RegistryClientTest {
  private static final byte[] MODULE = {0, 'a', 's', 'm', 1, 0, 0, 0};
  private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
  static TestRegistry registry;
  @TempDir static Path shared;
  @TempDir Path tmp;

  @BeforeAll
  static void start() throws IOException {
    registry = new TestRegistry(Files.createDirectories(shared.resolve("registry")));
  }

  @AfterAll
  static void stop() {
    registry.close();
  }

  private ImageReference ref(String repoTag) {
    return ImageReference.parse(registry.host() + "/" + repoTag);
  }

  private OciLayout build(boolean artifact) throws IOException {
    Path module = Files.write(tmp.resolve("m.wasm"), MODULE);
    OciLayout layout = OciLayout.create(tmp.resolve(artifact ? "art" : "img"));
    WasmImageBuilder.build(
        new WasmImageBuilder.Spec(ref("x:1"), module, artifact, null, null, null, null, null),
        layout);
    return layout;
  }

  @Test
  void push_thenPull_sameManifest_andSecondPushSkipsBlobs() throws IOException {
    OciLayout src = build(true);
    RegistryClient client = RegistryClient.of(ref("wasm/art:v1"), null, false);
    Descriptor pushed = new ImageTransfer(client, QUIET, RegistryClient.DEFAULT_CHUNK).push(src);
    Manifest m = Manifest.parse(src.readSmall(src.index().manifests().get(0), Manifest.MAX_BYTES));
    assertFalse(client.pushBlob(m.layers().get(0), () -> src.openBlob(m.layers().get(0)), 1024));
    OciLayout dst = OciLayout.create(tmp.resolve("pulled"));
    Descriptor pulled = new ImageTransfer(client, QUIET, RegistryClient.DEFAULT_CHUNK).pull(dst);
    assertEquals(pushed.digest(), pulled.digest());
    assertArrayEquals(
        src.readSmall(pushed, Manifest.MAX_BYTES), dst.readSmall(pulled, Manifest.MAX_BYTES));
    try (InputStream in = dst.openBlob(m.layers().get(0))) {
      assertArrayEquals(MODULE, in.readAllBytes());
    }
  }

  @Test
  void pushBlob_chunked_arrivesIntact() throws IOException {
    byte[] data = new byte[10_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31);
    }
    Descriptor d = Descriptor.of("application/octet-stream", Digest.sha256(data), data.length);
    RegistryClient client = RegistryClient.of(ref("chunks/x:1"), null, false);
    assertTrue(client.pushBlob(d, () -> new ByteArrayInputStream(data), 3000));
    assertTrue(client.blobExists(d));
    try (InputStream in = client.getBlob(d)) {
      assertArrayEquals(data, in.readAllBytes());
    }
  }

  @Test
  void getManifest_unknownTag_is404WithRegistryCode() {
    RegistryClient client = RegistryClient.of(ref("nothing/here:v9"), null, false);
    RegistryException e = assertThrows(RegistryException.class, () -> client.getManifest("v9"));
    assertEquals(404, e.status());
    assertTrue(
        e.getMessage()
            .startsWith("get manifest nothing/here:v9: registry answered 404 (not found)"),
        e.getMessage());
  }

  @Test
  void getBlob_descriptorClaimsMoreBytes_truncatedError() throws IOException {
    byte[] data = "0123456789".getBytes();
    Descriptor d = Descriptor.of("application/octet-stream", Digest.sha256(data), data.length);
    RegistryClient client = RegistryClient.of(ref("trunc/x:1"), null, false);
    client.pushBlob(d, () -> new ByteArrayInputStream(data), 1024);
    Descriptor lying = Descriptor.of(d.mediaType(), d.digest(), 20);
    try (InputStream in = client.getBlob(lying)) {
      assertEquals(
          "blob " + d.digest() + " is truncated: 10 of 20 bytes",
          assertThrows(VerifyingInputStream.BlobVerificationException.class, in::readAllBytes)
              .getMessage());
    }
  }

  @Test
  void pushBlob_wrongDigest_registryRefuses() {
    byte[] data = "abc".getBytes();
    Descriptor wrong =
        Descriptor.of("application/octet-stream", Digest.sha256("abd".getBytes()), 3);
    RegistryClient client = RegistryClient.of(ref("wrong/x:1"), null, false);
    RegistryException e =
        assertThrows(
            RegistryException.class,
            () -> client.pushBlob(wrong, () -> new ByteArrayInputStream(data), 1024));
    assertEquals(400, e.status());
    assertTrue(e.getMessage().contains("DIGEST_INVALID"), e.getMessage());
  }

  @Test
  void putManifest_referencingMissingBlob_refusedByRegistry() {
    Descriptor missing =
        Descriptor.of(MediaTypes.WASM_LAYER, Digest.sha256("never pushed".getBytes()), 12);
    Manifest m = Manifest.of(null, missing, List.of(missing), Map.of());
    RegistryClient client = RegistryClient.of(ref("missing/x:1"), null, false);
    RegistryException e =
        assertThrows(
            RegistryException.class,
            () -> client.putManifest("1", MediaTypes.OCI_MANIFEST, m.toBytes()));
    assertEquals(400, e.status());
    assertTrue(e.getMessage().contains("MANIFEST_BLOB_UNKNOWN"), e.getMessage());
  }
}
