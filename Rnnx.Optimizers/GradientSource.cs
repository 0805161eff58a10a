using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Simd;

namespace Rnnx.Optimizers;

/// <summary>
/// The gradient an element-wise update reads (<see cref="ParameterUpdate{T}.GradientSource"/>): one span, or the sum
/// of two spans added as they are read, (0 + a) + b, which is what summing them into a cleared store gives, bit for bit.
/// That is how a data-parallel step's shard gradients reach the update without a summed copy being written and read back.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly ref struct GradientSource<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly ReadOnlySpan<T> _first, _second;
    private readonly bool _sum;

    /// <summary>A gradient read from one span.</summary>
    /// <param name="gradient">The gradient values.</param>
    public GradientSource(ReadOnlySpan<T> gradient)
    {
        _first = gradient;
    }

    /// <summary>A gradient read as the sum (0 + <paramref name="first"/>) + <paramref name="second"/>.</summary>
    /// <param name="first">The first addend.</param>
    /// <param name="second">The second addend, as long as the first.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public GradientSource(ReadOnlySpan<T> first, ReadOnlySpan<T> second)
    {
        if (first.Length != second.Length)
            throw new ArgumentException($"GradientSource: the addends have {first.Length} and {second.Length} values; they must be equally long.", nameof(second));
        _first = first;
        _second = second;
        _sum = true;
    }

    /// <summary>Number of gradient values.</summary>
    public int Length => _first.Length;

    /// <summary>Whether the values are a sum computed as they are read (then <see cref="Span"/> is not available).</summary>
    public bool IsSum => _sum;

    /// <summary>The gradient as one span.</summary>
    /// <exception cref="InvalidOperationException">The gradient is a sum of two spans (<see cref="IsSum"/>).</exception>
    public ReadOnlySpan<T> Span => _sum
        ? throw new InvalidOperationException("GradientSource: this gradient is a sum computed as it is read; read it with Load or the indexer.")
        : _first;

    /// <summary>Value <paramref name="index"/> of the gradient.</summary>
    /// <param name="index">The element, in [0, <see cref="Length"/>).</param>
    public T this[int index] => _sum ? (T.Zero + _first[index]) + _second[index] : _first[index];

    /// <summary>Loads values [<paramref name="index"/>, <paramref name="index"/> + TVec.Count) (no bounds check, as <see cref="ISimdVector{TSelf, T}.Load"/>).</summary>
    /// <typeparam name="TVec">The vector width.</typeparam>
    /// <param name="index">The first element.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Load<TVec>(nint index) where TVec : struct, ISimdVector<TVec, T>
    {
        TVec g = TVec.Load(ref MemoryMarshal.GetReference(_first), index);
        return _sum ? (TVec.Zero + g) + TVec.Load(ref MemoryMarshal.GetReference(_second), index) : g;
    }
}
