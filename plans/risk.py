"""Risk rating from likelihood and impact, by documented bands.

Both scales run 1..5 (see `Risk.Likelihood` and `Risk.Impact`). The score is
likelihood x impact (1..25) and the rating is its band:

| score   | rating  |
|---------|---------|
| 1 - 4   | low     |
| 5 - 9   | medium  |
| 10 - 16 | high    |
| 17 - 25 | extreme |
"""

from .models import Risk

LIKELIHOOD_SCORES = {value: index for index, value in enumerate(Risk.Likelihood.values, start=1)}
IMPACT_SCORES = {value: index for index, value in enumerate(Risk.Impact.values, start=1)}
BANDS = ((4, Risk.Rating.LOW), (9, Risk.Rating.MEDIUM), (16, Risk.Rating.HIGH), (25, Risk.Rating.EXTREME))


def risk_score(likelihood: str, impact: str) -> int:
    return LIKELIHOOD_SCORES[likelihood] * IMPACT_SCORES[impact]


def risk_rating(likelihood: str, impact: str) -> Risk.Rating:
    score = risk_score(likelihood, impact)
    for upper, rating in BANDS:
        if score <= upper:
            return rating
    raise ValueError(f"score {score} is outside 1..25")
