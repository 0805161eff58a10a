using System.Globalization;
using System.Text;

namespace Rnnx.Diagnostics;

/// <summary>Step and tolerances of a <c>GradientChecker</c> run. The defaults are explained on <c>GradientChecker</c>.</summary>
public sealed record GradientCheckOptions
{
    /// <summary>The default options (rtol 1e-6, atol 1e-8, h = 1e-6 * max(1, |x|), seed 20240611).</summary>
    public static GradientCheckOptions Default { get; } = new();

    /// <summary>Relative tolerance: |a - n| &lt;= Atol + Rtol * max(|a|, |n|).</summary>
    public double Rtol { get; init; } = 1e-6;

    /// <summary>Absolute tolerance, for gradient entries that are zero or tiny.</summary>
    public double Atol { get; init; } = 1e-8;

    /// <summary>Relative step: each element x is perturbed by h = Step * max(1, |x|).</summary>
    public double Step { get; init; } = 1e-6;

    /// <summary>Seed of the random projection R in L = sum(out * R).</summary>
    public uint Seed { get; init; } = 20240611;

    /// <summary>How many of the worst entries the report lists.</summary>
    public int MaxReported { get; init; } = 10;

    /// <summary>
    /// Whether the numeric evaluations record on a tape as the analytic one does (default true). False runs them with
    /// no active tape, so that layers with an inference-only path are checked against the gradients of the recorded one.
    /// </summary>
    public bool RecordNumeric { get; init; } = true;
}

/// <summary>One compared derivative.</summary>
/// <param name="Input">The checked tensor's label (<c>input</c>, a weight name such as <c>lstm/kernel</c>, or <c>input 2</c>).</param>
/// <param name="Index">The element's index in that tensor.</param>
/// <param name="Analytic">The tape's derivative.</param>
/// <param name="Numeric">The central-difference estimate.</param>
/// <param name="ScaledError">|a - n| / (atol + rtol max(|a|, |n|)); above 1 is a mismatch.</param>
public sealed record GradientCheckEntry(string Input, int[] Index, double Analytic, double Numeric, double ScaledError)
{
    /// <summary>|analytic - numeric|.</summary>
    public double AbsError => Math.Abs(Analytic - Numeric);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Input}[{string.Join(", ", Index)}]: analytic {Analytic:R}, numeric {Numeric:R}, |diff| {AbsError:G3}");
}

/// <summary>Outcome of a check.</summary>
/// <param name="Elements">Number of elements whose derivative was compared.</param>
/// <param name="Mismatches">Number of elements outside the tolerance (0 when the check passed).</param>
/// <param name="MaxAbsError">Largest |analytic - numeric|.</param>
/// <param name="MaxScaledError">Largest |a - n| / (atol + rtol max(|a|, |n|)); the check passes when this is at most 1.</param>
/// <param name="Worst">The entries with the largest scaled errors, worst first (at most <see cref="GradientCheckOptions.MaxReported"/>), mismatching or not.</param>
/// <param name="Message">A description of the worst mismatches, or null when the check passed.</param>
public sealed record GradientCheckResult(int Elements, int Mismatches, double MaxAbsError, double MaxScaledError, IReadOnlyList<GradientCheckEntry> Worst, string? Message)
{
    /// <summary>True when every derivative was within tolerance.</summary>
    public bool Passed => Mismatches == 0;

    /// <summary>A report: the counts, the largest errors and the worst entries.</summary>
    public string Report()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"{(Passed ? "passed" : "FAILED")}: {Elements} derivatives, {Mismatches} outside tolerance; max |diff| {MaxAbsError:G3}, max scaled error {MaxScaledError:G3} (1 = at the tolerance). Worst:\n");
        foreach (var e in Worst) sb.Append("  ").AppendLine(e.ToString());
        return sb.ToString();
    }
}

/// <summary>A gradient check found derivatives outside the tolerance; the message lists the worst.</summary>
public sealed class GradientCheckException(string message, GradientCheckResult result) : Exception(message)
{
    /// <summary>The full result.</summary>
    public GradientCheckResult Result { get; } = result;
}
