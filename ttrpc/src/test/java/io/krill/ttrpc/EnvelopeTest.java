package io.krill.ttrpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvelopeTest {

  @Test
  void request_roundTrip_keepsAllFieldsAndRepeatedMetadata() throws Exception {
    Map<String, List<String>> md = new LinkedHashMap<>();
    md.put("containerd-namespace", List.of("k8s.io"));
    md.put("multi", List.of("a", "b", ""));
    byte[] payload = {0, 1, 2, (byte) 255};
    RequestMessage in =
        new RequestMessage("containerd.task.v2.Task", "Create", payload, 1_500_000_000L, md);
    RequestMessage out = RequestMessage.decode(in.encode());
    assertEquals("containerd.task.v2.Task", out.service());
    assertEquals("Create", out.method());
    assertArrayEquals(payload, out.payload());
    assertEquals(1_500_000_000L, out.timeoutNanos());
    assertEquals(md, out.metadata());
  }

  @Test
  void request_empty_decodesToDefaults() throws Exception {
    RequestMessage out = RequestMessage.decode(new byte[0]);
    assertEquals("", out.service());
    assertEquals(0, out.payload().length);
    assertEquals(0, out.timeoutNanos());
    assertTrue(out.metadata().isEmpty());
  }

  @Test
  void request_unknownFields_areSkipped() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    CodedOutputStream cos = CodedOutputStream.newInstance(buf);
    cos.writeString(99, "future");
    cos.writeString(1, "svc");
    cos.writeFixed64(42, 7);
    cos.writeString(2, "m");
    cos.writeInt32(100, 5);
    cos.flush();
    RequestMessage out = RequestMessage.decode(buf.toByteArray());
    assertEquals("svc", out.service());
    assertEquals("m", out.method());
  }

  @Test
  void request_truncated_throws() {
    byte[] enc = new RequestMessage("svc", "method", new byte[10], 0, Map.of()).encode();
    byte[] cut = Arrays.copyOf(enc, enc.length - 3);
    assertThrows(InvalidProtocolBufferException.class, () -> RequestMessage.decode(cut));
  }

  @Test
  void response_error_roundTrip() throws Exception {
    ResponseMessage out =
        ResponseMessage.decode(ResponseMessage.error(Code.NOT_FOUND, "no such task").encode());
    assertEquals(Code.NOT_FOUND.value(), out.code());
    assertEquals("no such task", out.message());
    assertEquals(0, out.payload().length);
  }

  @Test
  void response_ok_hasNoStatusField() throws Exception {
    byte[] payload = "pid".getBytes(StandardCharsets.UTF_8);
    byte[] enc = ResponseMessage.ok(payload).encode();
    // Only field 2 (tag 0x12) may appear, as in containerd's own OK replies.
    assertEquals(0x12, enc[0]);
    ResponseMessage out = ResponseMessage.decode(enc);
    assertTrue(out.isOk());
    assertArrayEquals(payload, out.payload());
    assertEquals(0, ResponseMessage.ok(null).encode().length);
  }

  @Test
  void response_statusWithDetailsAndUnknownFields_skipsThem() throws Exception {
    ByteArrayOutputStream status = new ByteArrayOutputStream();
    CodedOutputStream s = CodedOutputStream.newInstance(status);
    s.writeInt32(1, 9);
    s.writeString(2, "precondition");
    ByteArrayOutputStream any = new ByteArrayOutputStream();
    CodedOutputStream a = CodedOutputStream.newInstance(any);
    a.writeString(1, "type.googleapis.com/x");
    a.writeByteArray(2, new byte[] {1, 2, 3});
    a.flush();
    s.writeByteArray(3, any.toByteArray());
    s.flush();
    ByteArrayOutputStream resp = new ByteArrayOutputStream();
    CodedOutputStream r = CodedOutputStream.newInstance(resp);
    r.writeByteArray(1, status.toByteArray());
    r.writeByteArray(2, new byte[] {4});
    r.writeUInt64(15, 12345);
    r.flush();
    ResponseMessage out = ResponseMessage.decode(resp.toByteArray());
    assertEquals(9, out.code());
    assertEquals("precondition", out.message());
    assertArrayEquals(new byte[] {4}, out.payload());
  }

  @Test
  void response_emptyStatus_meansOk() throws Exception {
    ResponseMessage out = ResponseMessage.decode(new byte[] {0x0a, 0x00});
    assertTrue(out.isOk());
  }

  @Test
  void code_of_mapsValuesAndUnknown() {
    for (Code c : Code.values()) {
      assertEquals(c, Code.of(c.value()));
    }
    assertEquals(Code.UNKNOWN, Code.of(99));
    assertEquals(Code.UNKNOWN, Code.of(-1));
  }
}
