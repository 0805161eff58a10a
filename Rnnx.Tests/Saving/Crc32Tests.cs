using Rnnx.Saving;

namespace Rnnx.Tests.Saving;

/// <summary>The model files' CRC-32 (System.IO.Hashing) against zlib's check value and a bitwise reference.</summary>
public class Crc32Tests
{
    // The bit-at-a-time definition of the reflected CRC-32 (zlib's crc32), the reference the library is held to.
    private static uint Bitwise(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Test]
    public void CheckValue_IsZlibs()
    {
        // The catalogue check value of CRC-32/ISO-HDLC (zlib): crc32(b"123456789") == 0xCBF43926.
        Assert.That(Crc32.Of("123456789"u8), Is.EqualTo(0xCBF43926u));
        Assert.That(Crc32.Of(ReadOnlySpan<byte>.Empty), Is.EqualTo(0u));
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(64)]
    [TestCase(1000)]
    [TestCase(4099)]
    public void MatchesBitwiseReference_WholeAndInParts(int length)
    {
        var data = new byte[length];
        new System.Random(length).NextBytes(data);
        uint expected = Bitwise(data);
        Assert.That(Crc32.Of(data), Is.EqualTo(expected));
        int a = length / 3, b = length / 2;
        Assert.That(Crc32.Of(data.AsSpan(0, a), data.AsSpan(a, b - a), data.AsSpan(b)), Is.EqualTo(expected));
    }
}
