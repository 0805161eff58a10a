using System.Runtime.CompilerServices;
using System.Text;

namespace Rnnx;

/// <summary>
/// An immutable tensor shape of rank 0 to <see cref="MaxRank"/>, stored inline (creating one never allocates).
/// Every dimension is at least 1.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    /// <summary>The largest rank a tensor may have.</summary>
    public const int MaxRank = 8;

    [InlineArray(MaxRank)]
    private struct Dims
    {
        private int _element0;
    }

    private readonly Dims _dims;

    /// <summary>Number of dimensions.</summary>
    public int Rank { get; }

    /// <summary>The dimensions as a span (kernels take spans and integers, not shapes).</summary>
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    internal ReadOnlySpan<int> Dimensions => System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _dims[0]), Rank);

    /// <summary>Creates a shape from its dimensions, e.g. <c>new Shape(32, 50, 1)</c>.</summary>
    /// <exception cref="ArgumentException">The rank exceeds <see cref="MaxRank"/> or a dimension is zero or negative.</exception>
    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
            throw new ArgumentException($"Shape: rank {dims.Length} exceeds the maximum rank {MaxRank}.", nameof(dims));
        Rank = dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] <= 0)
                throw new ArgumentException($"Shape: dimension {i} of {Format(dims)} is {dims[i]}; every dimension must be at least 1.", nameof(dims));
            _dims[i] = dims[i];
        }
    }

    /// <summary>The scalar shape <c>()</c>.</summary>
    public static Shape Scalar => default;

    /// <summary>Dimension <paramref name="axis"/>; a negative axis counts from the end.</summary>
    public int this[int axis]
    {
        get
        {
            int a = NormalizeAxis(axis, "Shape");
            return _dims[a];
        }
    }

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Size
    {
        get
        {
            int s = 1;
            for (int i = 0; i < Rank; i++) s *= _dims[i];
            return s;
        }
    }

    /// <summary>The last dimension (1 for a scalar).</summary>
    public int Last => Rank == 0 ? 1 : _dims[Rank - 1];

    /// <summary>Copies the dimensions to a new array.</summary>
    public int[] ToArray()
    {
        var a = new int[Rank];
        for (int i = 0; i < Rank; i++) a[i] = _dims[i];
        return a;
    }

    /// <summary>Copies the dimensions into <paramref name="destination"/> (length at least <see cref="Rank"/>).</summary>
    public void CopyTo(Span<int> destination)
    {
        for (int i = 0; i < Rank; i++) destination[i] = _dims[i];
    }

    /// <summary>Product of the dimensions in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public int Product(int start, int end)
    {
        int s = 1;
        for (int i = start; i < end; i++) s *= _dims[i];
        return s;
    }

    /// <summary>Maps a possibly negative axis to 0..Rank-1 or throws an <see cref="ArgumentException"/> naming <paramref name="op"/>.</summary>
    public int NormalizeAxis(int axis, string op)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if ((uint)a >= (uint)Rank)
            throw new ArgumentException($"{op}: axis {axis} is out of range for a tensor of rank {Rank} with shape {this}.", nameof(axis));
        return a;
    }

    /// <summary>A copy with dimension <paramref name="axis"/> replaced by <paramref name="value"/>.</summary>
    public Shape With(int axis, int value)
    {
        Span<int> d = stackalloc int[MaxRank];
        CopyTo(d);
        d[NormalizeAxis(axis, "Shape.With")] = value;
        return new Shape(d[..Rank]);
    }

    /// <summary>A copy with a new dimension of size <paramref name="value"/> inserted before <paramref name="axis"/> (0..Rank).</summary>
    public Shape Insert(int axis, int value)
    {
        if (axis < 0) axis += Rank + 1;
        if ((uint)axis > (uint)Rank)
            throw new ArgumentException($"Shape.Insert: axis {axis} is out of range for shape {this}.", nameof(axis));
        Span<int> d = stackalloc int[MaxRank + 1];
        int j = 0;
        for (int i = 0; i <= Rank; i++)
        {
            if (i == axis) d[j++] = value;
            if (i < Rank) d[j++] = _dims[i];
        }
        return new Shape(d[..(Rank + 1)]);
    }

    /// <summary>A copy with dimension <paramref name="axis"/> removed.</summary>
    public Shape Remove(int axis)
    {
        int a = NormalizeAxis(axis, "Shape.Remove");
        Span<int> d = stackalloc int[MaxRank];
        int j = 0;
        for (int i = 0; i < Rank; i++) if (i != a) d[j++] = _dims[i];
        return new Shape(d[..(Rank - 1)]);
    }

    /// <summary>The numpy broadcast of two shapes, or <c>false</c> when they are incompatible.</summary>
    public static bool TryBroadcast(in Shape a, in Shape b, out Shape result)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        Span<int> d = stackalloc int[MaxRank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a._dims[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b._dims[i - (rank - b.Rank)];
            if (da == db || db == 1) d[i] = da;
            else if (da == 1) d[i] = db;
            else { result = default; return false; }
        }
        result = new Shape(d[..rank]);
        return true;
    }

    /// <inheritdoc />
    public bool Equals(Shape other)
    {
        if (Rank != other.Rank) return false;
        for (int i = 0; i < Rank; i++) if (_dims[i] != other._dims[i]) return false;
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Rank);
        for (int i = 0; i < Rank; i++) h.Add(_dims[i]);
        return h.ToHashCode();
    }

    /// <summary>Shape equality.</summary>
    public static bool operator ==(Shape left, Shape right) => left.Equals(right);

    /// <summary>Shape inequality.</summary>
    public static bool operator !=(Shape left, Shape right) => !left.Equals(right);

    /// <summary>Python-style text, e.g. <c>(32, 20)</c> or <c>(7,)</c>.</summary>
    public override string ToString()
    {
        Span<int> d = stackalloc int[MaxRank];
        CopyTo(d);
        return Format(d[..Rank]);
    }

    internal static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        if (dims.Length == 1) sb.Append(',');
        return sb.Append(')').ToString();
    }
}
