package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image's {@code /krill.toml}: its {@code [wagi]} table as the annotations it stands for, the
 * container's annotations over it key by key, and every malformed file refused naming the
 * container, the file, the key or line, and what to write.
 */
class KrillTomlTest {
  private static final String GOOD =
      """
      # an HTTP app
      [wagi]
      listen = "tcp://127.0.0.1:9000"
      timeout = "5s"
      concurrency = 4
      max-body = "1Mi"
      read-timeout = "500ms"

      [[wagi.route]]
      path = "/api/..."
      module = "/api.wasm"

      [[wagi.route]]
      path = "/"
      module = "/web/index.wasm"
      """;

  @TempDir Path tmp;
  private Path rootfs;

  @BeforeEach
  void setUp() throws IOException {
    rootfs = Files.createDirectories(tmp.resolve("rootfs"));
    Files.writeString(rootfs.resolve("api.wasm"), "module");
    Files.createDirectories(rootfs.resolve("web"));
    Files.writeString(rootfs.resolve("web/index.wasm"), "module");
  }

  private void file(String text) throws IOException {
    Files.writeString(rootfs.resolve("krill.toml"), text);
  }

  private KrillException refused(String text) throws IOException {
    file(text);
    KrillException e =
        assertThrows(KrillException.class, () -> KrillToml.served("c1", Map.of(), rootfs));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage().startsWith("container c1: /krill.toml in its image "), e.getMessage());
    return e;
  }

  private static void says(KrillException e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), p + " in: " + e.getMessage());
    }
  }

  @Test
  void aGoodFile_isTheAnnotationsItStandsFor() throws IOException {
    file(GOOD);
    KrillToml.Served s = KrillToml.served("c1", Map.of("other", "kept"), rootfs);
    assertTrue(s.isWagi());
    assertEquals(
        Map.of(
            "other", "kept",
            "krill.io/wagi", "tcp://127.0.0.1:9000",
            "krill.io/wagi-timeout", "5s",
            "krill.io/wagi-concurrency", "4",
            "krill.io/wagi-max-body", "1Mi",
            "krill.io/wagi-read-timeout", "500ms",
            "krill.io/wagi-routes", "/api/...=/api.wasm,/=/web/index.wasm"),
        s.annotations());
    assertEquals("key wagi.listen of /krill.toml in its image", s.source("krill.io/wagi"));
    assertEquals("annotation other", s.source("other"));
  }

  @Test
  void withoutTheFileOrTheTable_theAnnotationsAreAsTheyWere() throws IOException {
    Map<String, String> a = Map.of("krill.io/listen", "tcp://0.0.0.0:80");
    KrillToml.Served none = KrillToml.served("c1", a, rootfs);
    assertFalse(none.isWagi());
    assertEquals(a, none.annotations());
    file("# nothing for krill here\n");
    assertEquals(a, KrillToml.served("c1", a, rootfs).annotations());
    assertEquals(Set.of(), KrillToml.served("c1", a, rootfs).fromFile());
  }

  @Test
  void anEmptyWagiTable_listensOnTheDefaultAddress_withTheContainersModule() throws IOException {
    file("[wagi]\n");
    KrillToml.Served s = KrillToml.served("c1", Map.of(), rootfs);
    assertEquals(Map.of("krill.io/wagi", "tcp://0.0.0.0:8080"), s.annotations());
    assertEquals(Set.of("krill.io/wagi"), s.fromFile());
  }

  @Test
  void annotationsWinKeyByKey_theRoutesAnnotationReplacesTheFilesRoutes() throws IOException {
    file(GOOD.replace("/web/index.wasm", "/not/there.wasm"));
    KrillToml.Served s =
        KrillToml.served(
            "c1",
            Map.of(
                "krill.io/wagi", "tcp://127.0.0.1:7000",
                "krill.io/wagi-timeout", "1s",
                "krill.io/wagi-routes", "/=/api.wasm"),
            rootfs);
    assertEquals("tcp://127.0.0.1:7000", s.annotations().get("krill.io/wagi"));
    assertEquals("1s", s.annotations().get("krill.io/wagi-timeout"));
    assertEquals("4", s.annotations().get("krill.io/wagi-concurrency"));
    // the file's routes (one of them naming a missing module) are not used, so not checked
    assertEquals("/=/api.wasm", s.annotations().get("krill.io/wagi-routes"));
    assertEquals("annotation krill.io/wagi-routes", s.source("krill.io/wagi-routes"));
    assertEquals(
        "key wagi.concurrency of /krill.toml in its image", s.source("krill.io/wagi-concurrency"));
  }

  @Test
  void notToml_namesTheLine() throws IOException {
    says(
        refused("[wagi]\ntimeout = \"5s\"\nconcurrency = = 4\n"), "not valid TOML (line 3)", "fix");
  }

  @Test
  void anUnknownKey_isNamed() throws IOException {
    says(
        refused("[wagi]\nlisten = \"tcp://0.0.0.0:80\"\nroutes = 1\n"),
        "unknown key wagi.routes",
        "use only listen, timeout, concurrency, max-body, read-timeout, route");
    says(refused("[spin]\nx = 1\n"), "unknown key spin", "remove spin");
    says(
        refused("[wagi]\n[[wagi.route]]\npath = \"/\"\nmodule = \"/api.wasm\"\nmethod = \"GET\"\n"),
        "unknown key wagi.route[1].method",
        "use only path and module");
  }

  @Test
  void aWrongType_isNamed() throws IOException {
    says(
        refused("[wagi]\ntimeout = 30\n"), "wagi.timeout as an integer (30)", "a duration such as");
    says(
        refused("[wagi]\nconcurrency = \"16\"\n"),
        "wagi.concurrency = \"16\"",
        "a number from 1 to 1024, unquoted");
    says(
        refused("[wagi]\nlisten = 8080\n"),
        "wagi.listen as an integer (8080)",
        "tcp://0.0.0.0:8080");
    says(refused("wagi = \"yes\"\n"), "wagi as a value", "[wagi]");
    says(refused("[wagi]\nroute = \"/=/api.wasm\"\n"), "wagi.route as a string", "[[wagi.route]]");
    says(
        refused("[wagi]\n[[wagi.route]]\npath = \"/\"\n"),
        "wagi.route[1] without module",
        "add module = ");
    says(
        refused("[wagi]\n[[wagi.route]]\npath = \"/\"\nmodule = 1\n"),
        "wagi.route[1].module as an integer (1)");
  }

  @Test
  void aBadValue_isNamedWithItsForm() throws IOException {
    says(
        refused("[wagi]\ntimeout = \"thirty seconds\"\n"),
        "wagi.timeout = \"thirty seconds\"",
        "500ms, 30s or 2m");
    says(refused("[wagi]\nread-timeout = \"0s\"\n"), "wagi.read-timeout = \"0s\"");
    says(refused("[wagi]\nmax-body = \"3Ti\"\n"), "wagi.max-body = \"3Ti\"", "10Mi");
    says(refused("[wagi]\nconcurrency = 0\n"), "wagi.concurrency = 0");
    says(
        refused("[wagi]\n[[wagi.route]]\npath = \"api\"\nmodule = \"/api.wasm\"\n"),
        "wagi.route[1].path = \"api\"",
        "starting with /");
    says(
        refused("[wagi]\n[[wagi.route]]\npath = \"/\"\nmodule = \"api.wasm\"\n"),
        "wagi.route[1].module = \"api.wasm\"",
        "absolute path");
    says(
        refused(
            "[wagi]\n[[wagi.route]]\npath = \"/\"\nmodule = \"/api.wasm\"\n[[wagi.route]]\npath = \"/\"\nmodule = \"/api.wasm\"\n"),
        "route path / twice (wagi.route[2])");
  }

  @Test
  void aRouteModuleMissingFromTheImage_isNamed() throws IOException {
    says(
        refused(GOOD.replace("/web/index.wasm", "/web/gone.wasm")),
        "wagi.route[2].module = \"/web/gone.wasm\", which is not a file in the image",
        "put the module into the image");
    says(refused(GOOD.replace("/web/index.wasm", "/web")), "wagi.route[2].module = \"/web\"");
  }

  @Test
  void largeOrNotAFileOrNotUtf8_isRefused() throws IOException {
    says(
        refused("# " + "x".repeat(KrillToml.MAX_BYTES) + "\n[wagi]\n"),
        "larger than krill's limit of 64 KiB");
    Files.delete(rootfs.resolve("krill.toml"));
    Files.write(rootfs.resolve("krill.toml"), new byte[] {'#', (byte) 0xff, '\n'});
    KrillException e =
        assertThrows(KrillException.class, () -> KrillToml.served("c1", Map.of(), rootfs));
    says(e, "/krill.toml in its image is not UTF-8");
    Files.delete(rootfs.resolve("krill.toml"));
    Files.createDirectory(rootfs.resolve("krill.toml"));
    e = assertThrows(KrillException.class, () -> KrillToml.served("c1", Map.of(), rootfs));
    says(e, "is not a regular file");
  }

  @Test
  void aSymlinkOutOfTheRootfs_staysInside() throws IOException {
    Path outside = tmp.resolve("host-krill.toml");
    Files.writeString(outside, "[wagi]\nlisten = \"tcp://127.0.0.1:1\"\n");
    // absolute and ..-laden links resolve as the guest sees them: inside the rootfs, where nothing
    // is
    Files.createSymbolicLink(rootfs.resolve("krill.toml"), outside);
    assertFalse(KrillToml.served("c1", Map.of(), rootfs).isWagi());
    Files.delete(rootfs.resolve("krill.toml"));
    Files.createSymbolicLink(rootfs.resolve("krill.toml"), Path.of("../host-krill.toml"));
    assertFalse(KrillToml.served("c1", Map.of(), rootfs).isWagi());
    // a link within the image is followed as the guest would
    Files.writeString(rootfs.resolve("real.toml"), "[wagi]\n", StandardCharsets.UTF_8);
    Files.delete(rootfs.resolve("krill.toml"));
    Files.createSymbolicLink(rootfs.resolve("krill.toml"), Path.of("/real.toml"));
    assertTrue(KrillToml.served("c1", Map.of(), rootfs).isWagi());
  }
}
