package dev.afd.transport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;

/**
 * Throw-away X.509 certificates for TLS tests, written as the PEM files a Kubernetes TLS Secret holds. The JDK has no
 * public API to issue certificates, so the few DER structures of RFC 5280 needed here are encoded by hand: a CA, and
 * leaf certificates it signs for {@code localhost} and {@code 127.0.0.1}, usable as server and as client. P-256 keys.
 */
public final class TestCertificates {
    private static final byte[] ECDSA_SHA256 = oid(1, 2, 840, 10045, 4, 3, 2);
    private static final byte[] COMMON_NAME = oid(2, 5, 4, 3);
    private static final byte[] BASIC_CONSTRAINTS = oid(2, 5, 29, 19);
    private static final byte[] SUBJECT_ALT_NAME = oid(2, 5, 29, 17);

    /** A certificate authority: its name, key pair and certificate (DER). */
    public record Authority(String name, KeyPair keys, byte[] certificate) {}

    private TestCertificates() {}

    public static Authority authority(String name) throws GeneralSecurityException {
        KeyPair keys = keyPair();
        byte[] ext = sequence(sequence(BASIC_CONSTRAINTS, tlv(0x01, new byte[] {(byte) 0xff}),
                tlv(0x04, sequence(tlv(0x01, new byte[] {(byte) 0xff})))));
        return new Authority(name, keys, sign(name, name, keys.getPublic().getEncoded(), ext, keys.getPrivate()));
    }

    /**
     * Writes {@code NAME.crt}, {@code NAME.key} (PKCS#8) and {@code ca.crt} under {@code dir} for a leaf certificate
     * signed by {@code ca}, and returns them as TLS settings.
     */
    public static MutualTls leaf(Authority ca, String name, Path dir) throws GeneralSecurityException, IOException {
        KeyPair keys = keyPair();
        byte[] altNames = sequence(tlv(0x82, "localhost".getBytes(StandardCharsets.US_ASCII)),
                tlv(0x87, new byte[] {127, 0, 0, 1}));
        byte[] ext = sequence(sequence(SUBJECT_ALT_NAME, tlv(0x04, altNames)));
        byte[] cert = sign(name, ca.name(), keys.getPublic().getEncoded(), ext, ca.keys().getPrivate());
        Files.createDirectories(dir);
        Path crt = Files.writeString(dir.resolve(name + ".crt"), pem("CERTIFICATE", cert));
        Path key = Files.writeString(dir.resolve(name + ".key"), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        Path caCrt = Files.writeString(dir.resolve("ca.crt"), pem("CERTIFICATE", ca.certificate()));
        return new MutualTls(crt, key, caCrt);
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** A v3 certificate valid from an hour ago for a day, with the given extensions, signed by {@code issuerKey}. */
    private static byte[] sign(String subject, String issuer, byte[] subjectPublicKeyInfo, byte[] extensions,
            PrivateKey issuerKey) throws GeneralSecurityException {
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        DateTimeFormatter utc = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
        byte[] algorithm = sequence(ECDSA_SHA256);
        byte[] tbs = sequence(
                tlv(0xa0, tlv(0x02, new byte[] {2})),
                tlv(0x02, BigInteger.valueOf(System.nanoTime()).abs().toByteArray()),
                algorithm,
                name(issuer),
                sequence(tlv(0x17, utc.format(now.minusHours(1)).getBytes(StandardCharsets.US_ASCII)),
                        tlv(0x17, utc.format(now.plusDays(1)).getBytes(StandardCharsets.US_ASCII))),
                name(subject),
                subjectPublicKeyInfo,
                tlv(0xa3, extensions));
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(issuerKey);
        s.update(tbs);
        return sequence(tbs, algorithm, bitString(s.sign()));
    }

    private static byte[] name(String commonName) {
        return sequence(tlv(0x31, sequence(COMMON_NAME, tlv(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
    }

    private static byte[] bitString(byte[] bits) {
        byte[] v = new byte[bits.length + 1];
        System.arraycopy(bits, 0, v, 1, bits.length);
        return tlv(0x03, v);
    }

    private static byte[] oid(int... arcs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(40 * arcs[0] + arcs[1]);
        for (int i = 2; i < arcs.length; i++) {
            int a = arcs[i];
            int shift = 28;
            while (shift > 0 && (a >>> shift) == 0) {
                shift -= 7;
            }
            for (; shift > 0; shift -= 7) {
                out.write(0x80 | ((a >>> shift) & 0x7f));
            }
            out.write(a & 0x7f);
        }
        return tlv(0x06, out.toByteArray());
    }

    private static byte[] sequence(byte[]... parts) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            body.writeBytes(p);
        }
        return tlv(0x30, body.toByteArray());
    }

    /** One DER tag-length-value; lengths in short or long form. */
    private static byte[] tlv(int tag, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int n = value.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            byte[] len = BigInteger.valueOf(n).toByteArray();
            int skip = len[0] == 0 ? 1 : 0;
            out.write(0x80 | (len.length - skip));
            out.write(len, skip, len.length - skip);
        }
        out.writeBytes(value);
        return out.toByteArray();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
