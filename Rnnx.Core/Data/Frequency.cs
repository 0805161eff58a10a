using System.Globalization;

namespace Rnnx.Data;

/// <summary>The spacing of dated rows (UTC dates): a whole number of calendar months, or a fixed duration.</summary>
/// <param name="Months">Months between rows (0 for a fixed duration).</param>
/// <param name="Step">The duration between rows when <paramref name="Months"/> is 0.</param>
/// <param name="MonthEnd">Monthly rows dated on each month's last day (January 31, February 28, ...).</param>
public sealed record Frequency(int Months, TimeSpan Step, bool MonthEnd = false)
{
    /// <summary>A name for messages and the JSON output ("monthly", "daily", "every 6 hours", ...).</summary>
    public string Name => Months switch
    {
        1 => "monthly",
        3 => "quarterly",
        12 => "yearly",
        > 0 => $"every {Months} months",
        _ => Step.Ticks switch
        {
            TimeSpan.TicksPerDay => "daily",
            TimeSpan.TicksPerDay * 7 => "weekly",
            TimeSpan.TicksPerHour => "hourly",
            TimeSpan.TicksPerMinute => "every minute",
            _ => $"every {Step.ToString("c", CultureInfo.InvariantCulture)}",
        },
    };

    /// <summary>The date <paramref name="steps"/> rows after <paramref name="date"/>, or null past the calendar's end.</summary>
    public DateTime? After(DateTime date, int steps)
    {
        try
        {
            if (Months == 0) return date.AddTicks(checked(Step.Ticks * steps));
            var d = date.AddMonths(checked(Months * steps));
            return MonthEnd ? new DateTime(d.Year, d.Month, DateTime.DaysInMonth(d.Year, d.Month), d.Hour, d.Minute, d.Second, d.Kind).AddTicks(d.TimeOfDay.Ticks % TimeSpan.TicksPerSecond) : d;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>How many steps of this frequency lead from <paramref name="from"/> to <paramref name="to"/>, or null if none does.</summary>
    public long? StepsBetween(DateTime from, DateTime to)
    {
        if (to <= from) return null;
        if (Months > 0)
        {
            long months = (to.Year - from.Year) * 12L + to.Month - from.Month;
            if (months <= 0 || months % Months != 0) return null;
            return After(from, (int)Math.Min(months / Months, int.MaxValue)) == to ? months / Months : null;
        }
        long ticks = (to - from).Ticks;
        return ticks % Step.Ticks == 0 ? ticks / Step.Ticks : null;
    }

    /// <summary>
    /// Infers the frequency of increasing dates: calendar months when every step keeps the day of the month (or the
    /// month's end) and the most common step is a whole number of months, otherwise the most common duration.
    /// </summary>
    public static Frequency Infer(IReadOnlyList<DateTime> dates)
    {
        if (dates.Count < 2) return new Frequency(0, TimeSpan.FromDays(1));
        bool monthly = true, allMonthEnds = IsMonthEnd(dates[0]), daysVary = false;
        var monthSteps = new Dictionary<long, int>();
        var tickSteps = new Dictionary<long, int>();
        for (int i = 1; i < dates.Count; i++)
        {
            DateTime a = dates[i - 1], b = dates[i];
            long ticks = (b - a).Ticks;
            tickSteps[ticks] = tickSteps.GetValueOrDefault(ticks) + 1;
            allMonthEnds &= IsMonthEnd(b);
            daysVary |= a.Day != b.Day;
            bool sameDay = a.TimeOfDay == b.TimeOfDay && (a.Day == b.Day || (IsMonthEnd(a) && IsMonthEnd(b)));
            long months = (b.Year - a.Year) * 12L + b.Month - a.Month;
            if (!sameDay || months <= 0) monthly = false;
            else monthSteps[months] = monthSteps.GetValueOrDefault(months) + 1;
        }
        if (monthly)
        {
            long m = monthSteps.MaxBy(kv => (kv.Value, -kv.Key)).Key;
            if (m < 12 * 1000) return new Frequency((int)m, TimeSpan.Zero, allMonthEnds && daysVary);
        }
        // A whole-month spacing of 28-31 days must not be read as a duration when the days differ: fall back to the mode.
        long step = tickSteps.MaxBy(kv => (kv.Value, -kv.Key)).Key;
        return new Frequency(0, TimeSpan.FromTicks(Math.Max(1, step)));
    }

    private static bool IsMonthEnd(DateTime d) => d.Day == DateTime.DaysInMonth(d.Year, d.Month);
}
