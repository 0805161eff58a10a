using System.Buffers.Binary;
using System.Text;

namespace Rnnx.Onnx;

/// <summary>
/// A minimal protocol-buffers encoder (https://protobuf.dev/programming-guides/encoding/): varints, 32-bit floats,
/// length-delimited bytes, strings and nested messages — enough to write ONNX models without a protobuf dependency.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _s = new();

    private const int WireVarint = 0, WireFixed32 = 5, WireLength = 2;

    /// <summary>The encoded message.</summary>
    public byte[] ToArray() => _s.ToArray();

    private void Tag(int field, int wire) => RawVarint(((ulong)field << 3) | (uint)wire);

    private void RawVarint(ulong v)
    {
        while (v >= 0x80)
        {
            _s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        _s.WriteByte((byte)v);
    }

    /// <summary>An int32/int64/enum/bool field (negative values take ten bytes, as protobuf specifies).</summary>
    public ProtoWriter Varint(int field, long value)
    {
        Tag(field, WireVarint);
        RawVarint(unchecked((ulong)value));
        return this;
    }

    /// <summary>A float field.</summary>
    public ProtoWriter Float(int field, float value)
    {
        Tag(field, WireFixed32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _s.Write(b);
        return this;
    }

    /// <summary>A bytes field.</summary>
    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, WireLength);
        RawVarint((ulong)value.Length);
        _s.Write(value);
        return this;
    }

    /// <summary>A string field (UTF-8).</summary>
    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A nested message field.</summary>
    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());
}
