package io.krill.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri} end to end, with no containerd: the built distribution's daemon on a private socket,
 * driven through the kubelet-side CRI client, images from a local registry, a host-network pod.
 */
class CriServerE2ETest {
    @TempDir static Path tmp;
    static LocalRegistry registry;
    static String progsRef;
    static Process daemon;

    @BeforeAll
    static void setUp() throws IOException {
        registry = new LocalRegistry(Files.createDirectories(tmp.resolve("registry")));
        Map<String, byte[]> progs = new LinkedHashMap<>();
        for (String m : List.of("hello.wasm", "sleep.wasm", "healthz.wasm")) {
            progs.put("/" + m, TestPrograms.bytes(m));
        }
        Path tar = OciImage.named("cri/progs:v1").layer(progs).entrypoint("/hello.wasm").env("GREETING=hi")
                .writeTarball(tmp.resolve("progs.tar"));
        progsRef = registry.push(tar, "cri/progs:v1");
        daemon = start();
    }

    @AfterAll
    static void tearDown() throws Exception {
        stop();
        if (registry != null) {
            registry.close();
        }
    }

    static Path socket() {
        return tmp.resolve("run/krill.sock");
    }

    static Process start() throws IOException {
        Process p = new ProcessBuilder(Dist.binDir().resolve("krill").toString(), "cri", "--socket",
                socket().toString(), "--root", tmp.resolve("root").toString(), "--cni-conf-dir",
                tmp.resolve("no-cni").toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Files.exists(socket())) {
                try (CriClient c = new CriClient(socket())) {
                    c.runtime(Duration.ofSeconds(2)).version(VersionRequest.getDefaultInstance());
                    return p;
                } catch (StatusRuntimeException e) {
                    // not accepting yet
                }
            }
            if (!p.isAlive()) {
                fail("krill cri exited: " + Files.readString(tmp.resolve("daemon.log")));
            }
            sleep(100);
        }
        fail("krill cri did not answer within 30 s: " + Files.readString(tmp.resolve("daemon.log")));
        return null;
    }

    static void stop() throws InterruptedException {
        if (daemon != null) {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor();
            }
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void versionStatusAndUnimplemented_answerAsKubeletExpects() throws IOException {
        try (CriClient c = new CriClient(socket())) {
            VersionResponse v = c.runtime().version(VersionRequest.getDefaultInstance());
            assertEquals("0.1.0", v.getVersion());
            assertEquals("krill", v.getRuntimeName());
            assertEquals("0.1.0", v.getRuntimeVersion());
            assertEquals("v1", v.getRuntimeApiVersion());
            Map<String, RuntimeCondition> conditions = new LinkedHashMap<>();
            c.runtime().status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList()
                    .forEach(x -> conditions.put(x.getType(), x));
            assertTrue(conditions.get("RuntimeReady").getStatus());
            assertFalse(conditions.get("NetworkReady").getStatus());
            assertFalse(conditions.get("NetworkReady").getMessage().isEmpty());
            StatusRuntimeException e = expectError(() -> c.runtime().runtimeConfig(
                    RuntimeConfigRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket())));
    }

    @Test
    void images_pullStatusListFsInfoRemove() {
        try (CriClient c = new CriClient(socket())) {
            String name = registry.host() + "/cri/other:v1";
            Path tar = OciImage.named("cri/other:v1").layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
                    .entrypoint("/hello.wasm").writeTarball(tmp.resolve("other.tar"));
            registry.push(tar, "cri/other:v1");
            ImageSpec spec = ImageSpec.newBuilder().setImage(name).build();
            assertFalse(c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).hasImage());
            String id = c.images().pullImage(PullImageRequest.newBuilder().setImage(spec).build()).getImageRef();
            assertTrue(id.startsWith("sha256:"), id);
            Image img = c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).getImage();
            assertEquals(id, img.getId());
            assertEquals(List.of(name), img.getRepoTagsList());
            assertTrue(img.getSize() > 0);
            assertTrue(c.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
                    .anyMatch(i -> i.getId().equals(id)));
            FilesystemUsage fs = c.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance())
                    .getImageFilesystems(0);
            assertTrue(fs.getUsedBytes().getValue() >= img.getSize(), fs.toString());
            c.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
            assertFalse(c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).hasImage());
        }
    }

    static StatusRuntimeException expectError(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        fail("the call succeeded");
        return null;
    }
}
