namespace Rnnx.Saving;

/// <summary>
/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's <c>crc32</c>: detects every error burst of up to
/// 32 bits. Computed by System.IO.Hashing.
/// </summary>
internal static class Crc32
{
    /// <summary>The CRC of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);

    /// <summary>The CRC of the concatenation of three parts, without copying them together.</summary>
    public static uint Of(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> third)
    {
        var hasher = new System.IO.Hashing.Crc32();
        hasher.Append(first);
        hasher.Append(second);
        hasher.Append(third);
        return hasher.GetCurrentHashAsUInt32();
    }
}
