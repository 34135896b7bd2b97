package io.krill.oci.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * One document from arbitrary bytes, read as a manifest, an index and an image config (a registry
 * or an OCI layout may hand any of them where another is expected): each either parses or fails
 * with an {@link IllegalArgumentException}; what parses is within its size limit, survives being
 * written and read back unchanged, and answers the questions krill asks of it.
 */
class ImageDocumentsFuzzTest {

  @FuzzTest
  void parse_anyBytes_failsOnlyWithIllegalArgumentAndRoundTrips(byte[] json) {
    try {
      Manifest m = Manifest.parse(json);
      assertTrue(json.length <= Manifest.MAX_BYTES);
      assertEquals(m, Manifest.parse(m.toBytes()));
      WasmShape shape = WasmShape.detect(m);
      assertNotNull(shape.description());
      if (shape.isArtifact()) {
        try {
          Descriptor layer = WasmShape.moduleLayer(m);
          assertTrue(m.layers().contains(layer));
        } catch (IllegalArgumentException e) {
          // Several wasm layers: refused with a message.
        }
      }
    } catch (IllegalArgumentException e) {
      assertNotNull(e.getMessage());
    }
    try {
      Index i = Index.parse(json);
      assertTrue(json.length <= Manifest.MAX_BYTES);
      assertEquals(i, Index.parse(i.toBytes()));
      i.wasmEntry().ifPresent(d -> assertTrue(i.manifests().contains(d)));
      try {
        assertTrue(i.manifests().contains(i.wasmManifest()));
      } catch (IllegalArgumentException e) {
        // Ambiguous or empty: refused with a message.
      }
    } catch (IllegalArgumentException e) {
      assertNotNull(e.getMessage());
    }
    try {
      ImageConfig c = ImageConfig.parse(json);
      assertTrue(json.length <= ImageConfig.MAX_BYTES);
      ImageConfig image = ImageConfig.parse(Json.bytes(c.toImageJson()));
      assertEquals(c.entrypoint(), image.entrypoint());
      assertEquals(c.cmd(), image.cmd());
      assertEquals(c.env(), image.env());
      assertEquals(c.diffIds(), image.diffIds());
      assertEquals(c.layerDigests(), ImageConfig.parse(Json.bytes(c.toWasmJson())).layerDigests());
      assertNotNull(c.platform());
    } catch (IllegalArgumentException e) {
      assertNotNull(e.getMessage());
    }
  }
}
