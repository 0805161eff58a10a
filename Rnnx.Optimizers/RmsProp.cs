using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rnnx.Optimization;
using Rnnx.Simd;

namespace Rnnx.Optimizers;

/// <summary>The RMSprop optimizer (Hinton, 2012), exactly as Keras 3's <c>RMSprop</c> computes it.</summary>
/// <remarks>
/// <para>Source read: keras-team/keras <c>keras/src/optimizers/rmsprop.py</c>. Slots: <c>velocity</c> (v), plus
/// <c>momentum</c> (μ-buffer) when momentum &gt; 0 and <c>average_gradient</c> (a) when centered, all starting at 0.
/// Per element:</para>
/// <list type="bullet">
/// <item>v ← ρ·v + (1 − ρ)·g²;</item>
/// <item>centered: a ← ρ·a + (1 − ρ)·g and d = v − a² + ε; otherwise d = v + ε (ε is inside the square root);</item>
/// <item>Δ = lr·g / √d;</item>
/// <item>with momentum: b ← momentum·b + Δ and θ ← θ − b; otherwise θ ← θ − Δ.</item>
/// </list>
/// <para>Float32 parameters: ρ, ε, momentum and lr are rounded to float32, 1 − ρ is computed in double (a Python float)
/// and then rounded, and each operation is rounded to float32 in the order above. Float64 parameters use double.</para>
/// </remarks>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates an RMSprop optimizer; the defaults are Keras's.</summary>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="rho">Discount factor of the squared-gradient average, in [0, 1].</param>
    /// <param name="momentum">Momentum in [0, 1]; 0 disables the momentum buffer.</param>
    /// <param name="epsilon">Added to the average before the square root, &gt; 0.</param>
    /// <param name="centered">Normalize by the estimated variance (v − a²) instead of the uncentered second moment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range (the same ranges Keras enforces).</exception>
    public RmsProp(double learningRate = 0.001, double rho = 0.9, double momentum = 0.0, double epsilon = 1e-7, bool centered = false)
        : base(learningRate, SlotNamesFor(momentum, centered))
    {
        CheckRange(rho, 0, 1, nameof(rho));
        CheckRange(momentum, 0, 1, nameof(momentum));
        if (!(double.IsFinite(epsilon) && epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "'epsilon' must be finite and positive.");
        Rho = rho;
        Momentum = momentum;
        Epsilon = epsilon;
        Centered = centered;
    }

    /// <summary>Discount factor ρ.</summary>
    public double Rho { get; }

    /// <summary>Momentum (0 when disabled).</summary>
    public double Momentum { get; }

    /// <summary>ε, added inside the square root.</summary>
    public double Epsilon { get; }

    /// <summary>Whether the centered variant is used.</summary>
    public bool Centered { get; }

    private static string[] SlotNamesFor(double momentum, bool centered)
    {
        var names = new List<string> { "velocity" };
        if (momentum > 0) names.Add("momentum");
        if (centered) names.Add("average_gradient");
        return [.. names];
    }

    /// <inheritdoc/>
    /// <remarks>velocity is a running mean of squared gradients (momentum and the centered mean may be negative).</remarks>
    protected override bool IsNonNegativeSlot(int index) => index == 0;

    /// <inheritdoc/>
    protected override bool UpdatesElementwise => true;

    /// <inheritdoc/>
    protected override void WriteConfig(OptimizerConfig config) =>
        config.Set("rho", Rho).Set("momentum", Momentum).Set("epsilon", Epsilon).Set("centered", Centered);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<float> update) => Apply(update);

    /// <inheritdoc/>
    protected override void Update(in ParameterUpdate<double> update) => Apply(update);

    private void Apply<T>(in ParameterUpdate<T> u) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool hasMomentum = Momentum > 0;
        int next = 1;
        Span<T> momentumSlot = hasMomentum ? u.Slot(next++) : default;
        Span<T> averageSlot = Centered ? u.Slot(next) : default;
        var k = new Kernel<T>(
            u.Value, u.GradientSource, u.Slot(0), momentumSlot, averageSlot,
            new Coefficients<T>
            {
                Rho = T.CreateTruncating(Rho),
                OneMinusRho = T.CreateTruncating(1 - Rho),
                Epsilon = T.CreateTruncating(Epsilon),
                Momentum = T.CreateTruncating(Momentum),
                LearningRate = u.LearningRate,
                HasMomentum = hasMomentum,
                Centered = Centered,
            });
        ElementwiseLoop.Run<T, Kernel<T>>(ref k);
    }

    private struct Coefficients<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Rho, OneMinusRho, Epsilon, Momentum, LearningRate;
        public bool HasMomentum, Centered;
    }

    private readonly ref struct Kernel<T>(Span<T> theta, GradientSource<T> g, Span<T> velocity, Span<T> momentum, Span<T> average, in Coefficients<T> c)
        : IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _theta = theta, _velocity = velocity, _momentum = momentum, _average = average;
        private readonly GradientSource<T> _g = g;
        private readonly Coefficients<T> _c = c;

        public int Length => _theta.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TV>(nint i) where TV : struct, ISimdVector<TV, T>
        {
            ref T thetaRef = ref MemoryMarshal.GetReference(_theta);
            ref T velocityRef = ref MemoryMarshal.GetReference(_velocity);
            TV g = _g.Load<TV>(i);
            TV rho = TV.Create(_c.Rho);
            TV oneMinusRho = TV.Create(_c.OneMinusRho);
            TV v = rho * TV.Load(ref velocityRef, i) + oneMinusRho * (g * g);
            TV.Store(v, ref velocityRef, i);
            TV denominator;
            if (_c.Centered)
            {
                ref T averageRef = ref MemoryMarshal.GetReference(_average);
                TV a = rho * TV.Load(ref averageRef, i) + oneMinusRho * g;
                TV.Store(a, ref averageRef, i);
                denominator = v - a * a + TV.Create(_c.Epsilon);
            }
            else
            {
                denominator = v + TV.Create(_c.Epsilon);
            }
            TV increment = TV.Create(_c.LearningRate) * g / TV.Sqrt(denominator);
            TV theta = TV.Load(ref thetaRef, i);
            if (_c.HasMomentum)
            {
                ref T momentumRef = ref MemoryMarshal.GetReference(_momentum);
                TV b = TV.Create(_c.Momentum) * TV.Load(ref momentumRef, i) + increment;
                TV.Store(b, ref momentumRef, i);
                theta -= b;
            }
            else
            {
                theta -= increment;
            }
            TV.Store(theta, ref thetaRef, i);
        }
    }
}
