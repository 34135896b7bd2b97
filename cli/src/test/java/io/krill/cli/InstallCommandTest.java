package io.krill.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** install/uninstall against a temp root, with a fake release tree and a fake containerd binary. */
class InstallCommandTest {
  @TempDir Path tmp;
  private Path root;
  private Path home;
  private Path config;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  @BeforeEach
  void setUp() throws Exception {
    root = Files.createDirectories(tmp.resolve("root"));
    home = Files.createDirectories(tmp.resolve("release/krill"));
    Files.createDirectories(home.resolve("bin"));
    for (String bin : List.of(Node.SHIM, "krill")) {
      Files.writeString(home.resolve("bin").resolve(bin), "#!/bin/sh\n");
      Files.setPosixFilePermissions(
          home.resolve("bin").resolve(bin), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    // As a release has it: the krill-isolated runtime is the same launcher under another name.
    Files.createSymbolicLink(home.resolve("bin").resolve(Node.ISOLATED_SHIM), Path.of(Node.SHIM));
    config = root.resolve("etc/containerd/config.toml");
  }

  private int krill(String... args) {
    Console c =
        new Console(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            Map.of("PATH", ""),
            home);
    return Main.standard().run(List.of(args), c);
  }

  private Path fakeContainerd(String version) throws Exception {
    Path bin = tmp.resolve("containerd");
    Files.writeString(
        bin, "#!/bin/sh\necho containerd github.com/containerd/containerd " + version + " abc\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin;
  }

  @Test
  void install_existingConfig_addsBlockLinksAndBackupThenUninstallRestoresBytes() throws Exception {
    Files.createDirectories(config.getParent());
    Files.writeString(config, ContainerdConfigTest.V2);
    assertEquals(0, krill("install", "--root", root.toString()), out.toString());
    String installed = Files.readString(config);
    assertTrue(installed.contains("runtimes.krill]"), installed);
    assertTrue(
        installed.contains(
            "runtimes.krill-isolated]\n  runtime_type = \"io.containerd.krill-isolated.v1\""),
        installed);
    assertEquals(
        ContainerdConfigTest.V2,
        Files.readString(root.resolve("etc/containerd/config.toml.krill-backup")));
    assertTrue(Files.isExecutable(root.resolve("usr/local/bin").resolve(Node.SHIM)));
    assertEquals(
        Path.of("../../../opt/krill/bin/" + Node.SHIM),
        Files.readSymbolicLink(root.resolve("usr/local/bin").resolve(Node.SHIM)));
    Path isolated = root.resolve("usr/local/bin").resolve(Node.ISOLATED_SHIM);
    assertTrue(Files.isExecutable(isolated));
    assertEquals(
        Path.of("../../../opt/krill/bin/" + Node.ISOLATED_SHIM), Files.readSymbolicLink(isolated));
    assertEquals(
        Path.of(Node.SHIM),
        Files.readSymbolicLink(root.resolve("opt/krill/bin").resolve(Node.ISOLATED_SHIM)),
        "the release's link is copied as a link");
    assertTrue(Files.readString(root.resolve("etc/krill/config.toml")).contains("cache_dir"));
    assertTrue(out.toString().contains("kind: RuntimeClass"), out.toString());
    assertTrue(out.toString().contains("handler: krill-isolated\n"), out.toString());
    Path unit = root.resolve("etc/systemd/system/krill@.service");
    assertTrue(Files.readString(unit).contains("ExecStart=/opt/krill/bin/krill daemon"));
    assertTrue(out.toString().contains("systemctl enable --now krill@k8s.io"), out.toString());
    assertFalse(
        Files.exists(root.resolve("etc/systemd/system/multi-user.target.wants")), "never enabled");

    assertEquals(0, krill("install", "--root", root.toString()));
    assertEquals(installed, Files.readString(config));

    assertEquals(0, krill("uninstall", "--root", root.toString()), out.toString());
    assertEquals(ContainerdConfigTest.V2, Files.readString(config));
    assertFalse(Files.exists(root.resolve("usr/local/bin").resolve(Node.SHIM)));
    assertFalse(Files.exists(isolated, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(root.resolve("etc/containerd/config.toml.krill-backup")));
    assertFalse(Files.exists(unit));
  }

  @Test
  void install_isolatedRuntimeAlreadyConfigured_keepsItAndAddsKrill() throws Exception {
    Files.createDirectories(config.getParent());
    String mine =
        ContainerdConfigTest.V2
            + "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.krill-isolated]\n"
            + "  runtime_type = \"io.containerd.krill-isolated.v1\"\n";
    Files.writeString(config, mine);
    assertEquals(0, krill("install", "--root", root.toString()), out.toString());
    String installed = Files.readString(config);
    assertEquals(1, installed.split("runtimes.krill-isolated]", -1).length - 1, installed);
    assertTrue(installed.contains("runtimes.krill]"), installed);
    assertTrue(out.toString().contains("krill-isolated is already configured"), out.toString());
    assertEquals(0, krill("uninstall", "--root", root.toString()), out.toString());
    assertEquals(mine, Files.readString(config));
  }

  @Test
  void install_otherHandler_namesBothRuntimeClassesAfterIt() throws Exception {
    Files.createDirectories(config.getParent());
    Files.writeString(config, ContainerdConfigTest.V2);
    assertEquals(0, krill("install", "--root", root.toString(), "--handler", "wasm"));
    String installed = Files.readString(config);
    assertTrue(installed.contains("runtimes.wasm]"), installed);
    assertTrue(installed.contains("runtimes.wasm-isolated]"), installed);
    assertTrue(out.toString().contains("handler: wasm\n"), out.toString());
    assertTrue(out.toString().contains("handler: wasm-isolated\n"), out.toString());
  }

  @Test
  void uninstall_enabledInstance_unitKeptWithAdvice() throws Exception {
    assertEquals(
        0,
        krill(
            "install",
            "--root",
            root.toString(),
            "--containerd",
            fakeContainerd("1.7.24").toString()));
    Path wants =
        Files.createDirectories(root.resolve("etc/systemd/system/multi-user.target.wants"));
    Files.createSymbolicLink(wants.resolve("krill@k8s.io.service"), Path.of("../krill@.service"));
    assertEquals(0, krill("uninstall", "--root", root.toString()), out.toString());
    assertTrue(Files.exists(root.resolve("etc/systemd/system/krill@.service")));
    assertTrue(
        out.toString().contains("systemctl disable --now krill@k8s.io.service"), out.toString());
  }

  @Test
  void install_noConfig_createsVersionFromBinaryAndUninstallDeletesIt() throws Exception {
    assertEquals(
        0,
        krill(
            "install",
            "--root",
            root.toString(),
            "--containerd",
            fakeContainerd("2.1.9").toString()),
        out.toString());
    String created = Files.readString(config);
    assertTrue(
        created.contains("version = 3") && created.contains("io.containerd.cri.v1.runtime"),
        created);
    assertEquals(0, krill("uninstall", "--root", root.toString()));
    assertFalse(Files.exists(config));
  }

  @Test
  void install_corruptConfig_refusedFileUntouched() throws Exception {
    Files.createDirectories(config.getParent());
    String corrupt = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"\n";
    Files.writeString(config, corrupt);
    assertEquals(1, krill("install", "--root", root.toString()));
    assertTrue(out.toString().contains("not valid TOML"), out.toString());
    assertEquals(corrupt, Files.readString(config));
    assertFalse(Files.exists(root.resolve("usr/local/bin").resolve(Node.SHIM)));
  }

  @Test
  void install_dryRun_printsDiffChangesNothing() throws Exception {
    Files.createDirectories(config.getParent());
    Files.writeString(config, ContainerdConfigTest.V3);
    assertEquals(0, krill("install", "--root", root.toString(), "--dry-run"));
    assertTrue(
        out.toString()
            .contains("+[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.krill]"),
        out.toString());
    assertEquals(ContainerdConfigTest.V3, Files.readString(config));
    assertFalse(Files.exists(root.resolve("opt")));
  }

  @Test
  void install_versionOneConfig_refused() throws Exception {
    Files.createDirectories(config.getParent());
    Files.writeString(config, "[plugins.cri]\n  x = 1\n");
    assertEquals(1, krill("install", "--root", root.toString()));
    assertTrue(out.toString().contains("containerd config migrate"), out.toString());
  }

  @Test
  void doctor_afterInstall_configCheckOk() throws Exception {
    Files.createDirectories(config.getParent());
    Files.writeString(config, ContainerdConfigTest.V2);
    krill("install", "--root", root.toString());
    out.reset();
    krill("doctor", "--root", root.toString(), "--containerd", fakeContainerd("1.6.20").toString());
    assertTrue(out.toString().contains("ok    containerd config: version 2"), out.toString());
    assertTrue(out.toString().contains("ok    shim on PATH"), out.toString());
    assertTrue(out.toString().contains("FAIL  bundled java"), out.toString());
  }

  @Test
  void unknownCommand_exit2() {
    assertEquals(2, krill("frobnicate"));
  }
}
