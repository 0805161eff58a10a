using System.Numerics;

namespace Rnnx.Simd;

/// <summary>
/// A SIMD vector of <see cref="Count"/> values of <typeparamref name="T"/>, as static abstract members, so that an
/// element-wise formula is written once (generic over <typeparamref name="TSelf"/>) and instantiated for
/// <see cref="Simd512{T}"/>, <see cref="Simd256{T}"/>, <see cref="Simd128{T}"/> and the one-element
/// <see cref="Scalar{T}"/>. The JIT specialises every struct instantiation, so the calls inline to single
/// instructions. This is the one SIMD abstraction of Rnnx: the kernels, the recurrent gate math, the fast
/// exp/sigmoid/tanh and the optimizers' update loops are all written against these structs.
/// </summary>
/// <remarks>
/// The operators and <see cref="Sqrt"/>, <see cref="Max"/>, <see cref="Min"/> are correctly rounded IEEE-754
/// element-wise operations, so a formula gives the same bits for an element at every width. <see cref="MulAdd"/> is
/// fused exactly when the x86 FMA instruction set is available, at every width (the scalar included), so it too gives
/// the same bits at every width on one machine.
/// </remarks>
/// <typeparam name="TSelf">The implementing vector struct.</typeparam>
/// <typeparam name="T">The element type (float or double).</typeparam>
public interface ISimdVector<TSelf, T>
    where TSelf : struct, ISimdVector<TSelf, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Elements per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>All lanes one.</summary>
    static abstract TSelf One { get; }

    /// <summary>All lanes set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(T value);

    /// <summary>Loads <see cref="Count"/> elements starting at <c>source[index]</c> (no bounds check).</summary>
    static abstract TSelf Load(ref T source, nint index);

    /// <summary>Stores <see cref="Count"/> elements starting at <c>destination[index]</c> (no bounds check).</summary>
    static abstract void Store(TSelf value, ref T destination, nint index);

    /// <summary>Element-wise square root.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>Element-wise maximum (NaN-propagating, like <see cref="Math.Max(double, double)"/>).</summary>
    static abstract TSelf Max(TSelf x, TSelf y);

    /// <summary>Element-wise minimum (NaN-propagating, like <see cref="Math.Min(double, double)"/>).</summary>
    static abstract TSelf Min(TSelf x, TSelf y);

    /// <summary>a * b + c, fused exactly when the x86 FMA instruction set is available (at every width).</summary>
    static abstract TSelf MulAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>Element-wise sum.</summary>
    static abstract TSelf operator +(TSelf x, TSelf y);

    /// <summary>Element-wise difference.</summary>
    static abstract TSelf operator -(TSelf x, TSelf y);

    /// <summary>Element-wise product.</summary>
    static abstract TSelf operator *(TSelf x, TSelf y);

    /// <summary>Element-wise quotient.</summary>
    static abstract TSelf operator /(TSelf x, TSelf y);

    /// <summary>Element-wise negation.</summary>
    static abstract TSelf operator -(TSelf x);
}

/// <summary>
/// The operations the recurrent gate math and <c>FastMath</c> need beyond <see cref="ISimdVector{TSelf, T}"/>
/// (internal: the activations are approximations whose exact form is Core's business).
/// </summary>
internal interface ISimdMath<TSelf, T> : ISimdVector<TSelf, T>
    where TSelf : struct, ISimdMath<TSelf, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TSelf Round(TSelf x);

    /// <summary>
    /// min(max(x, lo), hi) per lane, for bounds lo &lt; hi that are finite and nonzero in every lane (the activations'
    /// clamps): the same bits as <see cref="ISimdVector{TSelf, T}.Min"/> of <see cref="ISimdVector{TSelf, T}.Max"/>,
    /// a NaN x included, with the x86 max/min instructions where the IEEE forms need a compare-and-blend sequence
    /// (with such bounds neither a signed zero nor a NaN bound can arise, and a NaN x is returned as it is by both).
    /// </summary>
    static abstract TSelf Clamp(TSelf x, TSelf lo, TSelf hi);

    /// <summary>Absolute value.</summary>
    static abstract TSelf Abs(TSelf x);

    /// <summary>Per lane: a &lt; b ? ifTrue : ifFalse.</summary>
    static abstract TSelf SelectWhereLess(TSelf a, TSelf b, TSelf ifTrue, TSelf ifFalse);

    /// <summary>2^n for integral float lanes n in the normal exponent range (float only; <c>FastMath.Exp</c>'s scale).</summary>
    static abstract TSelf PowerOfTwo(TSelf n);

    /// <summary>1 / (1 + exp(−x)): <c>FastMath</c> for float, the library exp for double.</summary>
    static abstract TSelf Sigmoid(TSelf x);

    /// <summary>tanh(x): <c>FastMath</c> for float, the library tanh for double.</summary>
    static abstract TSelf Tanh(TSelf x);

    /// <summary>max(x, 0).</summary>
    static abstract TSelf Relu(TSelf x);

    /// <summary>y &gt; 0 ? g : 0 (the ReLU derivative in terms of its output, 0 at 0 as TF).</summary>
    static abstract TSelf WherePositive(TSelf y, TSelf g);
}
